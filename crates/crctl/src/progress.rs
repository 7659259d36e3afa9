//! Progress bars on a terminal.
