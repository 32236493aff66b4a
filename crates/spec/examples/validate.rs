//! `cargo run -p epr-spec --example validate -- <folder|zip>`: the validator alone,
//! without the registry around it (quick to build while working on rules).

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: validate <folder|zip>");
        return ExitCode::from(2);
    };
    match epr_spec::validate_path(std::path::Path::new(&path)) {
        Ok(report) => {
            for p in &report.problems {
                println!("{p}");
            }
            for w in &report.warnings {
                eprintln!("warning: {w}");
            }
            if report.is_valid() {
                println!("valid");
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
