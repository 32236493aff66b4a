//! Elasticsearch ingest pipelines (`elasticsearch/ingest_pipeline/*`).

use epr_package::version::Version;

use crate::schema::{Schema, any};

pub fn pipeline(_v: &Version) -> Schema {
    any()
}
