//! The shelf (`lmc/src/shelf`) and the model set (`lmc/src/model_set.rs`)
//! against the tree; a file made with a retired model gets one exact line.
//!
//! The full tier needs the git history and runs only when asked:
//! `cargo test -p lmc --test shelf -- --ignored` checks that each named
//! commit holds its model, that the table is what the history implies
//! (`LMC_WRITE_SHELF=1` rewrites it), and that a retired model brought
//! back with the command `lmc` prints decodes its file byte for byte.

mod history;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use history::{fingerprint, root, tree_models, Repo, MODELS};
use lmc::model_set::{CURRENT, MODEL_SET, MODEL_SETS};
use lmc::shelf::{on_shelf, Status, SHELF};

/// `sample.txt` compressed with retired models (`tests/data/README.md`),
/// and what `lmc -d` says of each, exactly.
const RETIRED: [(&str, &str, &str); 2] = [
    (
        "sample.txt.lm-800k-mix2.lmc",
        "lm-800k-mix2",
        "lmc: sample.txt.lm-800k-mix2.lmc: made with the retired model lm-800k-mix2 (800K, shipped 2026-12-03); bring it back with 'git show d08c07001b5082717ed509a9323d52356e5ef14f:model-int8/models/lm-800k-mix2.lmm > lm-800k-mix2.lmm' and decompress with --model lm-800k-mix2.lmm\n",
    ),
    (
        "sample.txt.lm-200k-2026-11-27.lmc",
        "lm-200k-2026-11-27",
        "lmc: sample.txt.lm-200k-2026-11-27.lmc: made with the retired model lm-200k-2026-11-27 (200K, shipped 2026-11-27); bring it back with 'git show 7933b491d2ca7f987ac275c5447dd5fef8027e4c:model-int8/models/lm-200k.lmm > lm-200k-2026-11-27.lmm' and decompress with --model lm-200k-2026-11-27.lmm\n",
    ),
];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The binary, finding shipped models in the tree's models directory (as
/// an `lmc` built from this tree does).
fn lmc(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lmc"));
    c.current_dir(dir).env("LMC_MODEL_DIR", root().join(MODELS));
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn every_model_file_in_the_tree_is_on_the_shelf_at_its_path() {
    let models = tree_models();
    assert!(models.len() >= 3, "no models in {MODELS}: {models:?}");
    for path in models {
        let bytes = fs::read(root().join(&path)).unwrap();
        let fp = fingerprint(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
        let e = on_shelf(fp).unwrap_or_else(|| {
            panic!("{path} ({fp:016x}) is not on the shelf: regenerate lmc/src/shelf/table.rs (LMC_WRITE_SHELF=1 cargo test -p lmc --test shelf -- --ignored)")
        });
        assert_eq!(e.status, Status::InTree, "{path}");
        assert_eq!(e.path, path, "{} ({fp:016x})", e.name);
    }
}

#[test]
fn every_entry_is_whole_and_every_retired_one_names_its_commit() {
    let (mut names, mut fps) = (BTreeSet::new(), BTreeSet::new());
    for e in SHELF {
        assert!(names.insert(e.name), "two entries named {}", e.name);
        assert!(
            fps.insert(e.fingerprint),
            "{} is on the shelf twice",
            e.name
        );
        assert!(
            e.path.starts_with("model-int8/models/") && e.path.ends_with(".lmm"),
            "{}: {}",
            e.name,
            e.path
        );
        assert!(["200K", "800K", "3.2M"].contains(&e.size), "{}", e.name);
        let on_disk = root().join(e.path).is_file();
        match e.status {
            Status::InTree => assert!(on_disk, "{} is not in the tree at {}", e.name, e.path),
            Status::Retired => {
                let c = e
                    .commit
                    .unwrap_or_else(|| panic!("{} has no commit", e.name));
                assert!(is_hex(c, 40), "{}: commit {c:?}", e.name);
                assert!(is_hex(&e.date.replace('-', ""), 8), "{}", e.name);
                // Gone, or overwritten by a later version (a default).
                if on_disk {
                    let now = fingerprint(&fs::read(root().join(e.path)).unwrap());
                    assert_ne!(
                        now,
                        Ok(e.fingerprint),
                        "{} is retired but in the tree",
                        e.name
                    );
                }
                let show = e.git_show().unwrap();
                assert_eq!(show, format!("git show {c}:{} > {}.lmm", e.path, e.name));
            }
        }
    }
    // Each level's default, and each earlier default in the tree, is
    // findable by fingerprint; none of the retired is.
    for e in SHELF {
        let found = lmc::find_shipped(e.fingerprint);
        match (e.status, e.level) {
            (Status::Retired, _) => assert!(found.is_none(), "{}", e.name),
            (Status::InTree, Some(level)) => {
                let (s, p, _) = found.unwrap_or_else(|| panic!("{} is not found", e.name));
                assert_eq!(s.level, level, "{}", e.name);
                assert!(p.ends_with(e.path.rsplit('/').next().unwrap()));
            }
            (Status::InTree, None) => {}
        }
    }
}

#[test]
fn the_defaults_in_the_tree_are_the_current_model_set() {
    for (i, set) in MODEL_SETS.iter().enumerate() {
        assert_eq!(
            set.version as usize,
            i + 1,
            "model sets count from 1, one at a time"
        );
        for fp in set.defaults {
            assert!(
                on_shelf(fp).is_some(),
                "model set {}: {fp:016x} is not on the shelf",
                set.version
            );
        }
    }
    assert_eq!(MODEL_SET, MODEL_SETS.last().unwrap().version);
    for (s, want) in lmc::SHIPPED.iter().zip(CURRENT.defaults) {
        let path = root().join(MODELS).join(s.files[0]);
        let fp = fingerprint(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            fp, want,
            "{} ({fp:016x}) is not model set {MODEL_SET}'s {} ({want:016x}): a default is replaced only with a new model set; add one to MODEL_SETS in lmc/src/model_set.rs, regenerate the shelf and say so in lmc/README.md",
            path.display(),
            s.name
        );
    }
}

#[test]
fn version_names_the_model_set() {
    let dir = tempfile::tempdir().unwrap();
    let o = lmc(dir.path()).arg("--version").output().unwrap();
    assert!(o.status.success());
    let f: Vec<String> = CURRENT
        .defaults
        .iter()
        .map(|fp| format!("{fp:016x}"))
        .collect();
    let out = String::from_utf8(o.stdout).unwrap();
    let (first, kernels) = out.split_once('\n').unwrap();
    assert_eq!(
        first,
        format!(
            "lmc {} (model set {MODEL_SET}: 200K {}, 800K {}, 3.2M {})",
            env!("CARGO_PKG_VERSION"),
            f[0],
            f[1],
            f[2]
        )
    );
    assert_eq!(
        kernels,
        format!(
            "int8 kernels: {} (MODEL_INT8_KERNELS caps the set)\n",
            model_int8::kernels::active()
        )
    );
}

#[test]
fn a_file_of_a_retired_model_gets_one_line_and_nothing_is_written() {
    for (file, name, line) in RETIRED {
        let stream = fs::read(data(file)).unwrap();
        let header = *lmc::open(&stream[..]).unwrap().header();
        let e = lmc::shelf::retired(header.fingerprint).expect("made with a retired model");
        assert_eq!(e.name, name);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join(file), &stream).unwrap();
        for args in [
            &["-d"][..],
            &["-d", "-k"],
            &["-t"],
            &["-d", "-f"],
            &["-d", "-c"],
        ] {
            let o = lmc(d).args(args).arg(file).output().unwrap();
            assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
            assert_eq!(stderr(&o), line, "{args:?}");
            assert!(o.stdout.is_empty(), "{args:?}: nothing decoded is written");
            assert_eq!(listing(d), [file], "{args:?}");
            assert_eq!(fs::read(d.join(file)).unwrap(), stream);
        }
        // Another model named: the mismatch names the retired one.
        let o = lmc(d).args(["-d", "-1", file]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stderr(&o),
            format!(
                "lmc: {file}: compressed with a different model (file needs model {:016x}, the retired {} model {name}, see lmc info for how to bring it back; this model is {:016x}); pass the right one with --model or a level\n",
                header.fingerprint, e.size, CURRENT.defaults[0]
            )
        );
        assert_eq!(listing(d), [file]);
        // `info` names it too, and how to bring it back.
        let o = lmc(d).args(["info", file]).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        let want = format!(
            "  model:       {:016x} ({name}, a retired {} model shipped {})\n  bring back:  '{}', then decompress with --model {name}.lmm\n",
            header.fingerprint,
            e.size,
            e.date,
            e.git_show().unwrap()
        );
        assert!(text.contains(&want), "{text}");
    }
}

/// Each entry's commit holds, at its path, a model with its fingerprint.
#[test]
#[ignore = "needs the git history: cargo test -p lmc --test shelf -- --ignored"]
fn every_entry_is_in_the_commit_it_names() {
    let repo = Repo::open();
    let mut checked = 0;
    for e in SHELF {
        let Some(c) = e.commit else {
            assert_eq!(e.status, Status::InTree, "{}", e.name);
            continue;
        };
        let bytes = repo
            .show(c, e.path)
            .unwrap_or_else(|why| panic!("{}: {why}", e.name));
        let fp = fingerprint(&bytes).unwrap_or_else(|why| panic!("{}: {why}", e.name));
        assert_eq!(fp, e.fingerprint, "{} in {c}", e.name);
        assert!(repo.on_main_line(c), "{}: {c} is off the main line", e.name);
        checked += 1;
    }
    assert!(checked > 0, "no entry names a commit");
}

/// The table is what the history holds: every model file version ever
/// committed under `model-int8/models`, once per fingerprint. With
/// `LMC_WRITE_SHELF=1` it is rewritten instead.
#[test]
#[ignore = "needs the git history: cargo test -p lmc --test shelf -- --ignored"]
fn the_shelf_is_what_the_history_holds() {
    let repo = Repo::open();
    let want = history::shelf_source(&repo.versions());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/shelf/table.rs");
    if std::env::var_os("LMC_WRITE_SHELF").is_some() {
        fs::write(&path, &want).unwrap();
        return;
    }
    let have = fs::read_to_string(&path).unwrap();
    assert!(
        have == want,
        "{} is not what the history holds; regenerate it with LMC_WRITE_SHELF=1 cargo test -p lmc --test shelf -- --ignored\n--- it should be:\n{want}",
        path.display()
    );
}

/// The command `lmc -d` prints brings the model back, and with it the
/// file decodes to `sample.txt` byte for byte (the 2026-11-27 stream was
/// written by that day's `lmc`).
#[test]
#[ignore = "needs the git history: cargo test -p lmc --test shelf -- --ignored"]
fn a_retired_model_brought_back_decodes_its_file_exactly() {
    let repo = Repo::open();
    for (file, name, _) in RETIRED {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::copy(data(file), d.join(file)).unwrap();
        let o = lmc(d).args(["-d", file]).output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        let line = stderr(&o);
        let command = line
            .split('\'')
            .nth(1)
            .unwrap_or_else(|| panic!("no command in {line:?}"));
        // Run as printed, in the directory of the file; git finds the
        // repository through GIT_DIR.
        let o = Command::new("sh")
            .current_dir(d)
            .env("GIT_DIR", repo.git_dir())
            .args(["-c", command])
            .output()
            .unwrap();
        assert!(o.status.success(), "{command}: {}", stderr(&o));
        let o = lmc(d)
            .args(["-d", "--model", &format!("{name}.lmm"), file])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let out = file.strip_suffix(".lmc").unwrap();
        assert_eq!(
            fs::read(d.join(out)).unwrap(),
            fs::read(data("sample.txt")).unwrap(),
            "{file}"
        );
        assert!(!d.join(file).exists());
    }
}

/// A model of the tree that no level finds by itself (Table 2's byte
/// model) is named, with where it is.
#[test]
fn a_file_of_a_tree_model_no_level_finds_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("t"), b"Language models are compressors.").unwrap();
    let model = root().join(MODELS).join("table2/table2-ascii.lmm");
    let o = lmc(d)
        .args(["-M", "model", "-b", "64", "--model"])
        .arg(&model)
        .arg("t")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lmc(d).args(["-d", "t.lmc"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lmc: t.lmc: made with the model table2-ascii (200K), which lmc does not find here by itself; pass it with --model FILE (model-int8/models/table2/table2-ascii.lmm in lmc's source tree)\n"
    );
    assert_eq!(listing(d), ["t.lmc"]);
}
