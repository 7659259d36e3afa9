//! `crctl`: the command-line tool for container registries.

fn main() {}
