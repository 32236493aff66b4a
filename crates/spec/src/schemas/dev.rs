//! Development files under `_dev/` (build, deploy, test and benchmark configs).

use epr_package::version::Version;

use super::FileSchema;
use crate::schema::{Schema, any};

pub fn schema(_which: FileSchema, _v: &Version) -> Schema {
    any()
}
