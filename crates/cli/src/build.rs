//! `package-registry build <folder> [--output DIR]`: writes `{name}-{version}.zip`
//! (crate `epr-spec`, module `build`). Exit status: 0 built, 1 the package (or the
//! built zip) is invalid, 2 the folder could not be read or the zip not written.

use std::path::Path;
use std::process::ExitCode;

use epr_spec::build::BuildError;

pub fn run(path: &Path, output: &Path) -> ExitCode {
    match epr_spec::build::build(path, output) {
        Ok(zip) => {
            println!("{}", zip.display());
            ExitCode::SUCCESS
        }
        Err(BuildError::Invalid(report) | BuildError::InvalidBuild(report)) => {
            eprintln!(
                "error: {}: invalid, {} problem(s); nothing was built:",
                path.display(),
                report.problems.len()
            );
            for p in &report.problems {
                eprintln!("  - {p}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
