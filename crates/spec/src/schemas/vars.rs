//! Variables (`vars[]`), shared by manifests and data streams
//! (`data_stream/manifest.spec.yml#/definitions/vars`).

use epr_package::version::Version;

use crate::schema::{Schema, any_array};

/// The `vars` array.
pub fn vars(_v: &Version) -> Schema {
    any_array()
}
