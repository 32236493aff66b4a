//! Placeholder; filled in by the bucket work.
