//! `package-registry validate <folder|zip>`: checks a package against the package spec
//! (crate `epr-spec`) and reports every problem. Exit status: 0 valid, 1 invalid, 2 the
//! input could not be read.

use std::path::Path;
use std::process::ExitCode;

use epr_package::decode::ObjBuilder;
use epr_package::json::Json;
use epr_spec::Problem;

/// How to print the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(path: &Path, format: Format) -> ExitCode {
    let report = match epr_spec::validate_path(path) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match format {
        Format::Text => {
            if report.is_valid() {
                println!("{}: valid", path.display());
            } else {
                println!(
                    "{}: invalid, {} problem(s):",
                    path.display(),
                    report.problems.len()
                );
                for p in &report.problems {
                    println!("  - {p}");
                }
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
        }
        Format::Json => {
            let doc = ObjBuilder::new()
                .str("package", &path.display().to_string())
                .always("valid", Json::Bool(report.is_valid()))
                .always("problems", problems_json(&report.problems))
                .always("warnings", problems_json(&report.warnings))
                .build();
            print!("{}", doc.to_document());
        }
    }
    if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn problems_json(problems: &[Problem]) -> Json {
    Json::Arr(
        problems
            .iter()
            .map(|p| {
                let mut b = ObjBuilder::new().str("file", &p.file);
                if p.line > 0 {
                    b = b.always("line", Json::Int(p.line as i64));
                }
                b = b.str("message", &p.message);
                if let Some(code) = p.code {
                    b = b.str("code", code);
                }
                b.build()
            })
            .collect(),
    )
}
