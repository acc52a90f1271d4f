//! Helpers shared by the integration tests.

/// `PROPTEST_CASES` overrides the default number of cases, for deeper runs.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
