//! HTTP tests of the whole API, sent through `Router::oneshot` (no socket).
//!
//! Fixtures: the example packages in `testdata/packages`, and packages written
//! in temporary folders by `epr_testkit::PackageBuilder` where a test needs
//! something particular ([`fixture`] loads them).
//! Modules follow the routes.

mod fixture;

mod artifacts;
mod categories;
mod compression_and_etags;
mod errors_and_routing;
mod head;
mod metrics_and_logs;
mod package_info;
mod precedence_and_reload;
mod proxy;
mod search;
mod static_files;
mod storage_artifacts;
