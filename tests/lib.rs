//! Cross-crate integration tests live in `tests/tests/*.rs` (the whole stack
//! through the `facade` crate, against real registries); this library is
//! empty.
