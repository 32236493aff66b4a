//! Placeholder; filled in by the signature work.
