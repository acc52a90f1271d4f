//! The git history of `model-int8/models`, for the shelf's full tier: what
//! a commit holds, and the shelf table the history implies
//! ([`shelf_source`], which `lmc/src/shelf/table.rs` must equal).
//!
//! Everything here needs the whole history: [`Repo::open`] fails, with a
//! message saying why, in a shallow clone or outside a git checkout,
//! rather than letting a check pass on nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where models live in the tree.
pub const MODELS: &str = "model-int8/models";

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The model file's fingerprint, or why today's `model-int8` cannot read
/// it.
pub fn fingerprint(bytes: &[u8]) -> Result<u64, String> {
    model_int8::ModelFile::parse(bytes)
        .map(|f| f.fingerprint())
        .map_err(|e| e.to_string())
}

/// Every `.lmm` file under `model-int8/models` of the working tree: path
/// from the root (`/`-separated), sorted.
pub fn tree_models() -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{rel}/{name}");
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &rel, out);
            } else if name.ends_with(".lmm") {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join(MODELS), MODELS, &mut out);
    out.sort();
    out
}

/// A checkout with its whole history.
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The workspace's repository; panics (the check fails) when there is
    /// no git, no repository, or only a shallow clone.
    pub fn open() -> Repo {
        let repo = Repo { root: root() };
        let shallow = repo
            .try_git(&["rev-parse", "--is-shallow-repository"])
            .unwrap_or_else(|e| {
                panic!("the model history check needs the git repository of lmc: {e}")
            });
        if shallow.trim() != "false" {
            panic!("this is a shallow clone: the model history check needs the whole history (git fetch --unshallow)");
        }
        repo
    }

    fn try_git(&self, args: &[&str]) -> Result<String, String> {
        let o = self.git_bytes(args)?;
        String::from_utf8(o).map_err(|e| e.to_string())
    }

    fn git_bytes(&self, args: &[&str]) -> Result<Vec<u8>, String> {
        let o = Command::new("git")
            .current_dir(&self.root)
            .env("TZ", "UTC")
            .args(args)
            .output()
            .map_err(|e| format!("git {}: {e}", args.join(" ")))?;
        if !o.status.success() {
            return Err(format!(
                "git {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
        Ok(o.stdout)
    }

    fn git(&self, args: &[&str]) -> String {
        self.try_git(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The repository's git directory (for `GIT_DIR`).
    pub fn git_dir(&self) -> PathBuf {
        PathBuf::from(self.git(&["rev-parse", "--absolute-git-dir"]).trim())
    }

    /// The bytes of `path` in `commit`, or git's reason.
    pub fn show(&self, commit: &str, path: &str) -> Result<Vec<u8>, String> {
        self.git_bytes(&["show", &format!("{commit}:{path}")])
    }

    /// Whether `commit` is on the first-parent line of `HEAD`.
    pub fn on_main_line(&self, commit: &str) -> bool {
        self.git(&["rev-list", "--first-parent", "HEAD"])
            .lines()
            .any(|c| c == commit)
    }

    /// Every version of every `.lmm` file ever committed under
    /// `model-int8/models` in the history of `HEAD` (what was shipped:
    /// other branches, stashes and experiments are not, and would make the
    /// table depend on the clone).
    pub fn versions(&self) -> History {
        let main: BTreeSet<String> = self
            .git(&["rev-list", "--first-parent", "HEAD"])
            .lines()
            .map(str::to_string)
            .collect();
        // The commits that changed the models, oldest first; a version
        // first appears in one of them.
        let log = self.git(&[
            "log",
            "HEAD",
            "--full-history",
            "--reverse",
            "--date-order",
            "--format=%H %cd",
            "--date=format-local:%Y-%m-%d",
            "--",
            MODELS,
        ]);
        let mut h = History::default();
        for (order, line) in log.lines().enumerate() {
            let (commit, date) = line.split_once(' ').unwrap();
            let tree = self.git(&["ls-tree", "-r", commit, "--", &format!("{MODELS}/")]);
            for entry in tree.lines() {
                // "<mode> blob <sha>\t<path>"
                let (meta, path) = entry.split_once('\t').unwrap();
                let blob = meta.split(' ').nth(2).unwrap();
                if !path.ends_with(".lmm") {
                    continue;
                }
                let v = h.blobs.entry(blob.to_string()).or_insert_with(|| Blob {
                    first: (order, date.to_string()),
                    paths: BTreeMap::new(),
                });
                let at = v.paths.entry(path.to_string()).or_default();
                // The first commit that holds it here, preferring the
                // main line.
                let here = (!main.contains(commit), order, commit.to_string());
                if at.as_ref().is_none_or(|a| here < *a) {
                    *at = Some(here);
                }
            }
        }
        for blob in h.blobs.keys() {
            let bytes = self.git_bytes(&["cat-file", "blob", blob]).unwrap();
            h.fingerprints.insert(blob.clone(), fingerprint(&bytes));
        }
        h
    }
}

/// One content of a model file.
#[derive(Debug)]
pub struct Blob {
    /// When it was first committed: (order in the log, day).
    pub first: (usize, String),
    /// Each path it was committed at, with the commit chosen there: (off
    /// the main line, order in the log, hash).
    pub paths: BTreeMap<String, Option<(bool, usize, String)>>,
}

/// Every model file version of the history.
#[derive(Debug, Default)]
pub struct History {
    /// By blob hash.
    pub blobs: BTreeMap<String, Blob>,
    /// Each blob's fingerprint, or why it cannot be read today.
    pub fingerprints: HashMap<String, Result<u64, String>>,
}

/// A file's name without directory and `.lmm`.
fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".lmm").unwrap_or(name)
}

/// The level and size of a model named `name`: a level's default or a
/// version of it (`lm-800k-mix2`); a model of another kind of data
/// (`lm-200k-speech`) is of the size but no level's; Table 2's models are
/// 200K-class and no level's.
fn level_and_size(name: &str) -> (Option<u8>, &'static str) {
    const OTHER_DATA: [&str; 3] = ["-speech", "-photos", "-universal"];
    for s in lmc::SHIPPED {
        if s.files.iter().any(|f| {
            let base = stem(f);
            name == base || name.starts_with(&format!("{base}-"))
        }) {
            // (`lm-200k-speech-d4b9282`: a retired version of one.)
            let level = (!OTHER_DATA.iter().any(|k| name.contains(k))).then_some(s.level);
            return (level, s.name);
        }
    }
    (None, "200K")
}

/// The shelf table's source (`lmc/src/shelf/table.rs`) that the history
/// and the working tree imply: one entry per fingerprint, oldest first.
///
/// An entry's name is the file's name in the tree, else the name it was
/// last kept under besides a level's default file (a retired name such as
/// `lm-3m2-mix7`), else the default's name and the day it was shipped. Its
/// commit is the first that holds it at that path (on the main line when
/// one does). A blob today's `model-int8` cannot read is left out with a
/// comment: no fingerprint can name it.
pub fn shelf_source(h: &History) -> String {
    let defaults: BTreeSet<String> = lmc::SHIPPED
        .iter()
        .flat_map(|s| s.files.iter().map(|f| format!("{MODELS}/{f}")))
        .collect();
    // The tree's models by fingerprint.
    let mut tree: BTreeMap<u64, String> = BTreeMap::new();
    for p in tree_models() {
        let bytes = std::fs::read(root().join(&p)).unwrap();
        if let Ok(fp) = fingerprint(&bytes) {
            tree.entry(fp).or_insert(p);
        }
    }
    // Oldest first; by name within a commit.
    struct Row {
        key: (usize, String),
        text: String,
    }
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut names = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut blobs: Vec<(&String, &Blob)> = h.blobs.iter().collect();
    blobs.sort_by_key(|(sha, b)| (b.first.0, sha.as_str()));
    for (sha, b) in blobs {
        let fp = match &h.fingerprints[sha] {
            Ok(fp) => *fp,
            Err(why) => {
                let (path, _) = b.paths.iter().next().unwrap();
                skipped.push(format!(
                    "// Left out: blob {sha} ({path}, {}): {why}.",
                    b.first.1
                ));
                continue;
            }
        };
        if !seen.insert(fp) {
            continue;
        }
        // Where it is, or was last kept under a name of its own.
        let kept = |p: &&String| !defaults.contains(*p);
        let last_at = |p: &&String| b.paths[*p].as_ref().map(|c| c.1);
        let (path, in_tree) = match tree.get(&fp) {
            Some(p) => (p.clone(), true),
            None => {
                let p = b
                    .paths
                    .keys()
                    .filter(kept)
                    .max_by_key(last_at)
                    .or_else(|| b.paths.keys().min_by_key(last_at))
                    .unwrap();
                (p.clone(), false)
            }
        };
        let commit = b
            .paths
            .get(&path)
            .and_then(|c| c.as_ref())
            .map(|c| c.2.clone());
        let mut name = stem(&path).to_string();
        if !in_tree && defaults.contains(&path) {
            name = format!("{name}-{}", b.first.1);
        } else if !in_tree && tree.values().any(|p| *p == path) {
            // Replaced at its path by a model of the tree (a model of
            // other data, retrained): named by its first commit.
            let c = commit.as_deref().unwrap_or("tree");
            name = format!("{name}-{}", &c[..7.min(c.len())]);
        }
        if !names.insert(name.clone()) {
            let c = commit.as_deref().unwrap_or("tree");
            name = format!("{name}-{}", &c[..7.min(c.len())]);
            names.insert(name.clone());
        }
        let (level, size) = level_and_size(&name);
        let mut t = String::new();
        writeln!(t, "    Shelved {{").unwrap();
        writeln!(t, "        fingerprint: 0x{fp:016x},").unwrap();
        writeln!(t, "        name: {name:?},").unwrap();
        writeln!(t, "        size: {size:?},").unwrap();
        match level {
            Some(l) => writeln!(t, "        level: Some({l}),").unwrap(),
            None => writeln!(t, "        level: None,").unwrap(),
        }
        writeln!(t, "        date: {:?},", b.first.1).unwrap();
        match &commit {
            Some(c) => writeln!(t, "        commit: Some({c:?}),").unwrap(),
            None => writeln!(t, "        commit: None,").unwrap(),
        }
        writeln!(t, "        path: {path:?},").unwrap();
        let status = if in_tree { "InTree" } else { "Retired" };
        writeln!(t, "        status: Status::{status},").unwrap();
        writeln!(t, "    }},").unwrap();
        rows.push(Row {
            key: (b.first.0, name),
            text: t,
        });
    }
    // Models in the tree that no commit holds yet (a new default before
    // its commit): on the shelf, without a commit.
    for (fp, path) in &tree {
        if seen.contains(fp) {
            continue;
        }
        let name = stem(path).to_string();
        let (level, size) = level_and_size(&name);
        let level = level.map_or("None".to_string(), |l| format!("Some({l})"));
        rows.push(Row {
            key: (usize::MAX, name.clone()),
            text: format!(
                "    Shelved {{\n        fingerprint: 0x{fp:016x},\n        name: {name:?},\n        size: {size:?},\n        level: {level},\n        date: \"not committed\",\n        commit: None,\n        path: {path:?},\n        status: Status::InTree,\n    }},\n"
            ),
        });
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = String::new();
    out.push_str(HEAD);
    for s in &skipped {
        writeln!(out, "{s}").unwrap();
    }
    out.push_str(DOC);
    out.push_str("pub const SHELF: &[Shelved] = &[\n");
    for r in rows {
        out.push_str(&r.text);
    }
    out.push_str("];\n");
    out
}

const HEAD: &str = "\
//! Generated from the git history of `model-int8/models` by
//! `LMC_WRITE_SHELF=1 cargo test -p lmc --test shelf -- --ignored`
//! (`tests/history/mod.rs`); do not edit by hand.

use super::{Shelved, Status};

";

const DOC: &str = "\
/// Every model file ever committed under `model-int8/models`, one entry
/// per fingerprint, in the order they were first committed.
";
