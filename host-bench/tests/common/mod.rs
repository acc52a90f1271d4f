//! What the host-bench tests share: the data under `../shared/data`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared data folder.
pub const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// `rel` under the shared data folder, or `None` (skipping, said so) when
/// it is missing and `LMC_SKIP_MISSING_DATA=1`; missing otherwise fails.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = Path::new(SHARED).join(rel);
    if !p.exists() {
        if std::env::var("LMC_SKIP_MISSING_DATA").as_deref() == Ok("1") {
            eprintln!("skipping: {} is missing", p.display());
            return None;
        }
        panic!(
            "{} is missing (set LMC_SKIP_MISSING_DATA=1 to skip)",
            p.display()
        );
    }
    Some(p)
}
