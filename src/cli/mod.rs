//! The `decnet-sniffer` command line.

/// Runs the program and returns the process exit code.
pub fn main() -> i32 {
    0
}
