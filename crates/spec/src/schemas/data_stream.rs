//! Data stream files: `manifest.yml`, `routing_rules.yml`, `lifecycle.yml`.

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn manifest(_v: &Version) -> Schema {
    any()
}

pub fn routing_rules(_v: &Version) -> Schema {
    any()
}

pub fn lifecycle(_v: &Version) -> Schema {
    any()
}
