//! Semantic rules (placeholder until written).

use super::Rule;

pub const RULES: &[Rule] = &[];
