//! Command-line targets: registry references and `oci:` layouts.
