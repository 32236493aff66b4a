//! `kibana/tags.yml` and `elasticsearch/esql_view/*.yml`.

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn tags(_v: &Version) -> Schema {
    any()
}

pub fn esql_view(_v: &Version) -> Schema {
    any()
}
