//! The shelf: every model file `lmc` ever shipped, by fingerprint, with
//! where the git history keeps it. A file made with a model still in the
//! tree decodes by itself ([`find_shipped`](crate::find_shipped)); one made
//! with a retired model gets an exact answer instead of "unknown model":
//! which model it was and the `git show` that brings it back, to pass with
//! `--model` ([`Error::RetiredModel`](crate::Error::RetiredModel)).
//!
//! The table ([`SHELF`], `shelf/table.rs`) is generated from the history
//! by `cargo test -p lmc --test shelf -- --ignored` with
//! `LMC_WRITE_SHELF=1`; `tests/shelf.rs` holds it to the tree (fast) and to
//! the history (the full tier).

mod table;

pub use table::SHELF;

/// Where a shelved model file is now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// In the source tree, at [`Shelved::path`]: found by fingerprint when
    /// it is a level's model or an earlier default
    /// ([`Shipped`](crate::Shipped)), named with `--model` otherwise.
    InTree,
    /// No longer in the tree: only [`Shelved::commit`] holds it.
    Retired,
}

/// One model file that was shipped: one fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shelved {
    /// The model file's fingerprint (what a stream's header records).
    pub fingerprint: u64,
    /// Its name: the file name it was kept under, without `.lmm` (a
    /// retired default's retired name, e.g. `lm-3m2-mix7`).
    pub name: &'static str,
    /// The paper's name of its size (`"200K"`, `"800K"`, `"3.2M"`).
    pub size: &'static str,
    /// The level whose default it is or was; `None` for models no level
    /// ever chose (Table 2's).
    pub level: Option<u8>,
    /// The day it was first committed (UTC).
    pub date: &'static str,
    /// The first commit that holds it at [`path`](Self::path) (full hash;
    /// on the main line when one does); `None` only for a model of the
    /// tree not committed yet.
    pub commit: Option<&'static str>,
    /// Its path in that commit (and in the tree, when [`Status::InTree`]).
    pub path: &'static str,
    /// In the tree or retired.
    pub status: Status,
}

impl Shelved {
    /// The file name to bring it back as: `NAME.lmm`.
    pub fn file_name(&self) -> String {
        format!("{}.lmm", self.name)
    }

    /// The shell command, run in a clone of `lmc`'s repository, that
    /// writes the model file into the current directory (`None` when no
    /// commit holds it yet).
    pub fn git_show(&self) -> Option<String> {
        let commit = self.commit?;
        Some(format!(
            "git show {commit}:{} > {}",
            self.path,
            self.file_name()
        ))
    }

    /// How to bring it back: [`git_show`](Self::git_show) quoted, or
    /// where it is when no commit holds it.
    pub fn bring_back(&self) -> String {
        self.git_show()
            .map_or_else(|| self.path.to_string(), |c| format!("'{c}'"))
    }
}

/// The shelved model whose fingerprint is `fingerprint`.
pub fn on_shelf(fingerprint: u64) -> Option<&'static Shelved> {
    SHELF.iter().find(|e| e.fingerprint == fingerprint)
}

/// The retired model whose fingerprint is `fingerprint`.
pub fn retired(fingerprint: u64) -> Option<&'static Shelved> {
    on_shelf(fingerprint).filter(|e| e.status == Status::Retired)
}
