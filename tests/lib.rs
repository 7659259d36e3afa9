//! Cross-crate integration tests live in `tests/tests/*.rs` (the whole stack
//! through the `facade` crate, against real registries); this library is
//! empty.

/// The top-level README's Rust snippets, compiled as doctests so they
/// cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
