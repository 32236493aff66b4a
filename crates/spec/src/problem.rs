//! The validator's problems: [`epr_package::problem::Problem`], shared with the
//! loader so that both print a problem the same way, and the one made from a schema
//! violation.

pub use epr_package::problem::Problem;

use crate::schema::SchemaError;

/// A schema violation found in `file`. The one coded schema rule (the ingest
/// pipeline rename rule, JSE00001) carries its code at the end of the message; it
/// becomes the problem's code so that `validation.yml` can exclude it.
pub fn schema_problem(file: &str, e: SchemaError) -> Problem {
    let text = e.to_string();
    match text.strip_suffix(" (JSE00001)") {
        Some(message) => Problem::at(file, e.line, message).with_code("JSE00001"),
        None => Problem::at(file, e.line, text),
    }
}
