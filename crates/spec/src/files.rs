//! Checking one file against its schema: reading it as package-spec does, the custom
//! formats bound to the package, and the problems named after the file.

use epr_package::yaml::{Node, expand_dotted_keys};

use crate::package::{Package, normalize};
use crate::problem::Problem;
use crate::schema::{self, FormatChecker};
use crate::schemas::{FileSchema, schema_for};

/// Largest file a `relative-path` value may point at (`relativePathSizeLimit`).
pub const RELATIVE_PATH_SIZE_LIMIT: u64 = 3 * 1024 * 1024;

/// Reads `path` (YAML, or JSON when it ends in `.json`) into a tree for the schema
/// pass: for spec < 3.0.0 dotted keys are expanded first, as package-spec does.
pub fn read_for_schema(pkg: &Package<'_>, path: &str, bytes: &[u8]) -> Result<Node, Problem> {
    let text = String::from_utf8_lossy(bytes);
    let node = if path.ends_with(".json") {
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Problem::at(path, e.line(), format!("invalid JSON: {e}")))?;
        schema::node_from_json(&value)
    } else {
        pkg.parse_yaml(path, &text)?
    };
    Ok(if pkg.spec_at_least("3.0.0") {
        node
    } else {
        expand_dotted_keys(node)
    })
}

/// Validates the file at `path` (whose content is `bytes`) against `which`.
pub fn check_schema(
    pkg: &Package<'_>,
    path: &str,
    bytes: &[u8],
    which: FileSchema,
) -> Vec<Problem> {
    let doc = match read_for_schema(pkg, path, bytes) {
        Ok(doc) => doc,
        Err(p) => return vec![p],
    };
    let schema = schema_for(which, &pkg.format_version);
    let formats = PackageFormats {
        pkg,
        dir: parent(path),
    };
    schema::validate(&schema, &doc, &formats)
        .into_iter()
        .map(|e| crate::problem::schema_problem(path, e))
        .collect()
}

fn parent(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

/// The formats package-spec registers: paths that must exist in the package.
struct PackageFormats<'a, 'p> {
    pkg: &'a Package<'p>,
    /// The folder of the file being validated, relative to the package root.
    dir: String,
}

impl FormatChecker for PackageFormats<'_, '_> {
    fn check(&self, format: &str, value: &str) -> Option<String> {
        match format {
            "relative-path" => {
                let target = normalize(&std::path::Path::new(&self.dir).join(value));
                let ok = !target.starts_with("..")
                    && self
                        .pkg
                        .fs
                        .stat(&target)
                        .is_some_and(|e| !e.is_dir && e.size <= RELATIVE_PATH_SIZE_LIMIT);
                (!ok).then(|| {
                    "relative path is invalid, target doesn't exist or it exceeds the file size limit"
                        .to_string()
                })
            }
            "data-stream-name" => {
                let target = normalize(
                    &std::path::Path::new(&self.dir)
                        .join("data_stream")
                        .join(value),
                );
                let ok = self.pkg.fs.stat(&target).is_some_and(|e| e.is_dir);
                (!ok).then(|| "data stream doesn't exist".to_string())
            }
            _ => None,
        }
    }
}
