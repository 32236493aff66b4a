//! `cargo run -p epr-spec --example check_file -- <package folder> <file> <Schema>`:
//! checks one file of a package against one schema (a `FileSchema` variant name, such
//! as `IntegrationManifest`), for working on schemas before the structural pass
//! assigns them.

use std::process::ExitCode;

use epr_package::fs::DirFs;
use epr_spec::schemas::FileSchema;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, file, schema] = args.as_slice() else {
        eprintln!("usage: check_file <package folder> <file> <Schema>");
        return ExitCode::from(2);
    };
    let Some(which) = FileSchema::by_name(schema) else {
        eprintln!("unknown schema {schema}");
        return ExitCode::from(2);
    };
    let root = std::path::PathBuf::from(dir);
    let fs = match DirFs::open(&root) {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let pkg = match epr_spec::open_package(&fs, Some(root), epr_spec::Mode::Legacy) {
        Ok(pkg) => pkg,
        Err(p) => {
            println!("{p}");
            return ExitCode::from(1);
        }
    };
    let bytes = match pkg.read(file) {
        Ok(b) => b,
        Err(p) => {
            println!("{p}");
            return ExitCode::from(1);
        }
    };
    let problems = epr_spec::files::check_schema(&pkg, file, &bytes, which);
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!("valid");
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
