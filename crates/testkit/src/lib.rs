//! What the workspace's tests share, in one place instead of copies in each test
//! file: packages written as folders and zips ([`PackageBuilder`]), the external
//! servers some tests run against ([`servers`]), a free port ([`free_port`]) and the
//! folder of the shared conformance suites ([`shared_dir`]).
//!
//! It depends on no crate of the workspace, so that every one of them, the crates
//! the others build on included, can take it as a dev-dependency. Helpers panic
//! instead of returning errors: a test that cannot write its fixture has failed.

mod package;
pub mod servers;
mod shared_dir;

pub use package::PackageBuilder;
pub use shared_dir::shared_dir;

use std::net::{Ipv4Addr, TcpListener};

/// A port free on 127.0.0.1 now, for a server the test starts: the system picks
/// it, so tests running at the same time do not collide (the port is released
/// before it is used, so another process could still take it, a race tests accept).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}
