//! What a bucket holds (`package-registry storage list`): every version the current
//! index lists, with its zip's size and time and the key id its signature names.

use std::collections::HashMap;
use std::time::SystemTime;

use epr_index::index_rewrite::IndexedVersion;
use epr_index::storage_index::Yank;
use futures_util::StreamExt;

use crate::bucket::{Bucket, ObjectInfo};
use crate::layout;
use crate::publish::PublishError;
use crate::revision;
use crate::signature::signer_key_id;

/// Signatures read at once.
const PARALLEL_READS: usize = 16;

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub name: String,
    pub version: String,
    /// The zip's size; `None` when the zip is missing (`storage check` says more).
    pub size: Option<u64>,
    /// When the zip was written.
    pub published: Option<SystemTime>,
    /// The key id the signature names (16 hex digits), not verified.
    pub signer_key_id: Option<String>,
    /// Why and when it was yanked, if it was.
    pub yank: Option<Yank>,
}

/// Every version of the current index, in index order.
pub async fn list(bucket: &Bucket) -> Result<Vec<Version>, PublishError> {
    let versions = revision::listed(bucket).await?;
    let zips: HashMap<String, ObjectInfo> = bucket
        .list_info("artifacts/packages")
        .await?
        .into_iter()
        .filter(|(key, _)| key.ends_with(".zip"))
        .collect();
    let listed = futures_util::stream::iter(versions)
        .map(|v| {
            let IndexedVersion {
                name,
                version,
                yank,
            } = v;
            let zip = zips.get(&layout::package_zip(&name, &version)).cloned();
            async move {
                let signature = bucket
                    .get(&layout::package_signature(&name, &version))
                    .await?;
                let signer_key_id = signature.and_then(|s| signer_key_id(&s).ok());
                Ok::<_, PublishError>(Version {
                    size: zip.as_ref().map(|z| z.size),
                    published: zip.map(|z| z.last_modified),
                    name,
                    version,
                    signer_key_id,
                    yank,
                })
            }
        })
        .buffered(PARALLEL_READS)
        .collect::<Vec<_>>()
        .await;
    listed.into_iter().collect()
}
