//! `package-registry validate <folder|zip>`: checks a package and reports every
//! problem. Exit status: 0 valid, 1 invalid, 2 the input could not be read.
//!
//! For now this runs the registry's load-time checks (spec/api.md §6.3) with
//! validation on; the package-spec rules of issue 3 grow from here.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use epr_package::fs::{DirFs, PackageFs, ZipFs};
use epr_package::{LoadOptions, Location};

/// How to print the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(path: &Path, format: Format) -> ExitCode {
    let opened: Result<(Location, Arc<dyn PackageFs>), String> = if path.is_dir() {
        DirFs::open(path)
            .map(|fs| {
                (
                    Location::Dir(path.to_path_buf()),
                    Arc::new(fs) as Arc<dyn PackageFs>,
                )
            })
            .map_err(|e| e.to_string())
    } else if path.is_file() {
        match ZipFs::open(path) {
            Ok(Some(fs)) => Ok((
                Location::Zip(path.to_path_buf()),
                Arc::new(fs) as Arc<dyn PackageFs>,
            )),
            Ok(None) => Err(format!(
                "{}: no <folder>/manifest.yml found in the zip",
                path.display()
            )),
            Err(e) => Err(e.to_string()),
        }
    } else {
        Err(format!("{}: no such file or folder", path.display()))
    };
    let (location, fs) = match opened {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let problems = match epr_package::package::load(
        location,
        fs,
        &LoadOptions {
            validate: true,
            require_signature: false,
        },
    ) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    };
    match format {
        Format::Text if problems.is_empty() => println!("{}: valid", path.display()),
        Format::Text => {
            println!(
                "{}: invalid, {} problem(s):",
                path.display(),
                problems.len()
            );
            for p in &problems {
                println!("  - {p}");
            }
        }
        Format::Json => {
            use epr_package::decode::ObjBuilder;
            use epr_package::json::Json;
            let doc = ObjBuilder::new()
                .str("package", &path.display().to_string())
                .always("valid", Json::Bool(problems.is_empty()))
                .always("problems", Json::strings(&problems))
                .build();
            print!("{}", doc.to_document());
        }
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
