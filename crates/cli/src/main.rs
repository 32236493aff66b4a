//! `package-registry`: serves the Elastic Package Registry API (no subcommand, or
//! `serve`), configured like the upstream server; its subcommands are the tools
//! around it (validate, build, sign, verify, publish).

mod build;
mod config;
mod listen;
mod log_writer;
mod logging;
mod publish;
mod serve;
mod sign;
mod storage_cmd;
mod storage_source;
mod telemetry;
mod validate;
mod watch;

use clap::{Parser, Subcommand};

use config::ServeArgs;

// glibc's malloc keeps the pages freed when a full storage reload drops the old
// catalog (freed from many threads' arenas): resident memory grew by the size of a
// catalog with each reload, to 3 GiB after 6 reloads of 10,000 versions. jemalloc's
// background threads return them within its decay time (1 s, set for the build in
// .cargo/config.toml); startup is also faster with it (docs/PERFORMANCE.md, "Memory
// after a full reload").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Elastic Package Registry: serves Elastic integration packages to Kibana Fleet.
#[derive(Debug, Parser)]
#[command(name = "package-registry", version, about, long_about = None)]
#[command(disable_version_flag = true)]
// `package-registry --address x` and `package-registry serve --address x` both serve;
// the tools' options stay with their subcommand (and in its --help).
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the same as no subcommand).
    Serve(Box<ServeArgs>),
    /// Check package folders or zips against the package spec; exit 0 all valid, 1 one
    /// is invalid, 2 one could not be read.
    Validate {
        /// The package folders or zips (a folder is a source package, a zip a built one).
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: validate::Format,
    },
    /// Build `{name}-{version}.zip` from a package folder (validated before and after).
    Build {
        /// The package folder.
        path: std::path::PathBuf,
        /// Where to write the zip.
        #[arg(long, default_value = ".")]
        output: std::path::PathBuf,
    },
    /// Sign package zips: writes a detached, ASCII-armored OpenPGP signature `<zip>.sig`.
    Sign(sign::SignArgs),
    /// Check a package zip's detached OpenPGP signature against trusted public keys.
    Verify(sign::VerifyArgs),
    /// Publish signed package zips into a Package Storage v2 bucket (or, with
    /// --worker, whatever is dropped into its queue); exit 0 all published, 1 one was
    /// refused, 2 publishing failed.
    Publish(publish::PublishArgs),
    /// Look after a Package Storage v2 bucket: `gc` removes old index revisions.
    Storage(storage_cmd::StorageArgs),
}

/// The upstream takes Go-style flags (`-address x`); accept them by turning a
/// single-dash long flag into its `--` form, so existing command lines work.
fn go_style_args() -> Vec<String> {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            if i > 0
                && a.len() > 2
                && a.starts_with('-')
                && !a.starts_with("--")
                && a.as_bytes()[1].is_ascii_alphabetic()
            {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    let mut cli = Cli::parse_from(go_style_args());
    if matches!(cli.command, Some(Command::Serve(_)))
        && let Some(Command::Serve(args)) = cli.command.take()
    {
        cli.serve = *args;
    }
    if cli.serve.version {
        println!(
            "Elastic Package Registry version {} (package-registry in Rust)",
            env!("CARGO_PKG_VERSION")
        );
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(Command::Validate { paths, format }) = &cli.command {
        // A one-shot tool: no runtime, no logging setup, the verdict on stdout.
        return validate::run(paths, *format);
    }
    if let Some(Command::Build { path, output }) = &cli.command {
        return build::run(path, output);
    }
    if let Some(Command::Sign(args)) = &cli.command {
        return sign::run_sign(args);
    }
    if let Some(Command::Verify(args)) = &cli.command {
        return sign::run_verify(args);
    }
    let guards = match logging::init(&cli.serve.log_level, &cli.serve.log_type) {
        Ok(guards) => guards,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let options = {
        use clap::CommandFactory;
        config::option_env_names(&Cli::command())
    };
    for warning in config::env_warnings(&options, std::env::vars()) {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let finish = |code| {
        guards.shutdown_traces();
        code
    };
    if let Some(Command::Publish(args)) = cli.command {
        return finish(runtime.block_on(publish::run(args)));
    }
    if let Some(Command::Storage(args)) = cli.command {
        return finish(runtime.block_on(storage_cmd::run(args)));
    }
    // Only serving is left here: the tools returned above.
    let result = runtime.block_on(serve::run(cli.serve));
    finish(match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/CONFIGURATION.md names every option of serving with its variable, so
    /// that the page cannot drift from the code.
    #[test]
    fn configuration_page_lists_every_option() {
        use clap::CommandFactory;
        let page = include_str!("../../../docs/CONFIGURATION.md");
        let command = Cli::command();
        let mut missing = Vec::new();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if long == "help" {
                continue;
            }
            if !page.contains(&format!("`--{long}`")) {
                missing.push(format!("--{long}"));
            }
            if let Some(env) = arg.get_env()
                && !page.contains(&format!("`{}`", env.to_string_lossy()))
            {
                missing.push(env.to_string_lossy().into_owned());
            }
        }
        assert!(
            missing.is_empty(),
            "not in docs/CONFIGURATION.md: {missing:?}"
        );
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
