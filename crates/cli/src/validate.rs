//! `package-registry validate <folder|zip>...`: checks packages against the package
//! spec (crate `epr-spec`) and reports every problem. Several packages are checked in
//! parallel and reported in the order given. Exit status: 0 all valid, 1 one is invalid,
//! 2 one could not be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use epr_package::decode::ObjBuilder;
use epr_package::json::Json;
use epr_spec::{OpenError, Problem, Report};
use rayon::prelude::*;

/// How to print the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(paths: &[PathBuf], format: Format) -> ExitCode {
    let results: Vec<Result<Report, OpenError>> = paths
        .par_iter()
        .map(|p| epr_spec::validate_path(p))
        .collect();
    let mut docs = Vec::new();
    let mut status = 0u8;
    for (path, result) in paths.iter().zip(&results) {
        status = status.max(match result {
            Ok(r) if r.is_valid() => 0,
            Ok(_) => 1,
            Err(_) => 2,
        });
        match format {
            Format::Text => print_text(path, result),
            Format::Json => docs.push(json_doc(path, result)),
        }
    }
    if format == Format::Json {
        let doc = if docs.len() == 1 {
            docs.remove(0)
        } else {
            Json::Arr(docs)
        };
        print!("{}", doc.to_document());
    }
    ExitCode::from(status)
}

fn print_text(path: &Path, result: &Result<Report, OpenError>) {
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return;
        }
    };
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
        eprintln!("warning: {}: {w}", path.display());
    }
}

fn json_doc(path: &Path, result: &Result<Report, OpenError>) -> Json {
    let b = ObjBuilder::new().str("package", &path.display().to_string());
    match result {
        Ok(report) => b
            .always("valid", Json::Bool(report.is_valid()))
            .always("problems", problems_json(&report.problems))
            .always("warnings", problems_json(&report.warnings))
            .build(),
        Err(e) => b
            .always("valid", Json::Bool(false))
            .str("error", &e.to_string())
            .build(),
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
