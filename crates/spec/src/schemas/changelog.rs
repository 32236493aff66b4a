//! `changelog.yml` and `validation.yml`.

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn changelog(_v: &Version) -> Schema {
    any()
}

pub fn validation(_v: &Version) -> Schema {
    any()
}
