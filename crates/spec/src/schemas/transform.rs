//! Elasticsearch transforms: `transform.yml` and the transform `manifest.yml`.

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn manifest(_v: &Version) -> Schema {
    any()
}

pub fn transform(_v: &Version) -> Schema {
    any()
}
