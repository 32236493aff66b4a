//! `manifest.yml` of integration, input and content packages.

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn integration(_v: &Version) -> Schema {
    any()
}

pub fn input(_v: &Version) -> Schema {
    any()
}

pub fn content(_v: &Version) -> Schema {
    any()
}
