//! Host benchmarks (issue 5: not yet implemented).
