//! The model set: the default model of each level, versioned. Replacing a
//! default changes what `lmc -1`, `-2`, `-3` write, and which files an
//! installed `lmc` decodes by itself, so it is done only together with a
//! new version here; `lmc --version` prints the version and the three
//! fingerprints, and `tests/shelf.rs` fails when a default in the tree is
//! not the current version's.
//!
//! A bump: add a [`ModelSet`] with the next version and the new defaults
//! to [`MODEL_SETS`], regenerate the shelf (the replaced model becomes a
//! retired entry there, so its files still get an exact answer), and say
//! what changed in `lmc/README.md`.

use std::sync::OnceLock;

use crate::models::SHIPPED;

/// The defaults of the levels at one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelSet {
    /// The version, from 1, one more at each change of a default.
    pub version: u32,
    /// The fingerprint of each level's default (level 1 first).
    pub defaults: [u64; SHIPPED.len()],
}

/// Every model set, oldest first; the last is this build's.
pub const MODEL_SETS: &[ModelSet] = &[
    // The first versioned set (2026-12-04's defaults): the mixture-trained
    // 200K, 800K (window 512) and 3.2M (mean of two arms).
    ModelSet {
        version: 1,
        defaults: [0x91542c38a09ff58c, 0xa65811aee7f6def1, 0x1861e2f672ecf1f3],
    },
];

/// This build's model set: the last of [`MODEL_SETS`].
pub const CURRENT: ModelSet = MODEL_SETS[MODEL_SETS.len() - 1];

/// This build's model-set version.
pub const MODEL_SET: u32 = CURRENT.version;

/// What `lmc --version` prints after `lmc `: the crate's version and the
/// model set, e.g. `0.1.0 (model set 1: 200K 91542c38a09ff58c, ...)`,
/// then a line naming the int8 kernel set this machine runs.
pub fn version_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let set = CURRENT;
        let models: Vec<String> = SHIPPED
            .iter()
            .zip(set.defaults)
            .map(|(s, fp)| format!("{} {fp:016x}", s.name))
            .collect();
        format!(
            "{} (model set {}: {})\nint8 kernels: {} ({} caps the set)",
            env!("CARGO_PKG_VERSION"),
            set.version,
            models.join(", "),
            model_int8::kernels::active(),
            model_int8::kernels::FORCE_VAR,
        )
    })
}
