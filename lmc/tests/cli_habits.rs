//! `lmc` as a gzip or zstd user drives it (issue 15): contradictory
//! options, long names, inputs that cannot be removed, concatenated
//! streams, messages that name the file at fault, level habits, signals,
//! and the shipped model found by the file's fingerprint.

mod cli_common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cli_common::*;

fn ok(o: &Output) {
    assert!(o.status.success(), "lmc failed: {}", stderr(o));
}

/// A directory with model 1 and model-sampled text `t` (three 64-byte
/// chunks).
fn setup() -> (tempfile::TempDir, std::path::PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path(), 1);
    let text = sample(&fs::read(&model).unwrap(), 3 * 64, 64, 11);
    fs::write(dir.path().join("t"), &text).unwrap();
    (dir, model, text)
}

fn with_model(d: &Path, model: &Path) -> Command {
    let mut c = lmc(d);
    c.args(["-b", "64", "--model"]).arg(model);
    c
}

const TRY_HELP: &str = "Try 'lmc --help' for more information.\n";

#[test]
fn c_with_o_is_refused_and_the_input_kept() {
    let (dir, model, text) = setup();
    let d = dir.path();
    let msg = format!(
        "lmc: -c and -o conflict: -c writes to standard output, -o to a file; give one of them\n{TRY_HELP}"
    );
    let o = with_model(d, &model)
        .args(["-c", "-o", "out", "t"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), msg);
    assert!(o.stdout.is_empty());
    assert_eq!(fs::read(d.join("t")).unwrap(), text, "input kept");
    assert!(!d.join("out").exists());

    ok(&with_model(d, &model).args(["-k", "t"]).output().unwrap());
    for args in [&["-d", "-c", "-o", "out"][..], &["-d", "-o", "out", "-c"]] {
        let o = with_model(d, &model)
            .args(args)
            .arg("t.lmc")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), msg);
        assert!(d.join("t.lmc").exists(), "{args:?}: input kept");
        assert!(!d.join("out").exists());
    }
    let o = with_model(d, &model)
        .args(["-c", "--rm", "t"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("lmc: --rm does not go with -c: -c keeps its inputs\n{TRY_HELP}")
    );
    assert!(d.join("t").exists());
}

#[test]
fn names_up_to_the_longest_legal_one_round_trip() {
    let (dir, model, text) = setup();
    let d = dir.path();
    // NAME.lmc is at most 255 bytes, the longest file name.
    for len in [200, 236, 240, 251] {
        let name = "n".repeat(len);
        fs::write(d.join(&name), &text).unwrap();
        let o = with_model(d, &model).arg(&name).output().unwrap();
        ok(&o);
        assert!(!d.join(&name).exists());
        let o = with_model(d, &model)
            .arg("-d")
            .arg(format!("{name}.lmc"))
            .output()
            .unwrap();
        ok(&o);
        assert_eq!(fs::read(d.join(&name)).unwrap(), text, "{len}");
        fs::remove_file(d.join(&name)).unwrap();
        assert_eq!(listing(d), ["model-1.lmm", "t"], "{len}: nothing left");
    }
}

/// Makes `dir` refuse the removal of its files (read-only, or, for root,
/// immutable); `false` when this machine cannot.
#[cfg(unix)]
fn lock_dir(dir: &Path, lock: bool) -> bool {
    use std::os::unix::fs::PermissionsExt;
    if !lock {
        let _ = Command::new("chattr").arg("-i").arg(dir).output();
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
        return true;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).unwrap();
    let probe = dir.join("probe");
    if fs::write(&probe, b"").is_err() {
        return true;
    }
    fs::remove_file(&probe).unwrap();
    let chattr = Command::new("chattr").arg("+i").arg(dir).output();
    matches!(chattr, Ok(o) if o.status.success())
}

#[cfg(unix)]
#[test]
fn an_input_that_cannot_be_removed_is_a_warning() {
    let (dir, model, text) = setup();
    let d = dir.path();
    fs::create_dir(d.join("ro")).unwrap();
    fs::write(d.join("ro/f"), &text).unwrap();
    if !lock_dir(&d.join("ro"), true) {
        lock_dir(&d.join("ro"), false);
        eprintln!("skipped: cannot make a directory refuse removals here");
        return;
    }
    let o = with_model(d, &model)
        .args(["-o", "out.lmc", "ro/f"])
        .output()
        .unwrap();
    lock_dir(&d.join("ro"), false);
    assert_eq!(o.status.code(), Some(2), "gzip's warning status");
    let err = stderr(&o);
    assert!(
        err.starts_with("lmc: ro/f: warning: cannot remove the input (")
            && err.ends_with("); out.lmc is complete and the input is kept\n"),
        "{err}"
    );
    assert_eq!(fs::read(d.join("ro/f")).unwrap(), text);
    let back = with_model(d, &model)
        .args(["-d", "-c", "out.lmc"])
        .output()
        .unwrap();
    ok(&back);
    assert_eq!(back.stdout, text, "the output is complete");
}

#[test]
fn concatenated_streams_decode_to_the_concatenation() {
    let (dir, model, a) = setup();
    let d = dir.path();
    let b = sample(&fs::read(&model).unwrap(), 100, 64, 5);
    fs::write(d.join("b"), &b).unwrap();
    let o = with_model(d, &model)
        .args(["-c", "t", "b"])
        .output()
        .unwrap();
    ok(&o);
    fs::write(d.join("ab.lmc"), &o.stdout).unwrap();
    let both = [a.clone(), b.clone()].concat();

    let o = with_model(d, &model)
        .args(["-d", "-k", "ab.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(fs::read(d.join("ab")).unwrap(), both);
    let o = with_model(d, &model)
        .args(["-t", "ab.lmc"])
        .output()
        .unwrap();
    ok(&o);
    let o = run_with_stdin(
        with_model(d, &model).arg("-d"),
        &fs::read(d.join("ab.lmc")).unwrap(),
    );
    ok(&o);
    assert_eq!(o.stdout, both);
    // Separately compressed parts join too.
    ok(&with_model(d, &model).args(["-k", "b"]).output().unwrap());
    let mut joined = fs::read(d.join("ab.lmc")).unwrap();
    joined.extend(fs::read(d.join("b.lmc")).unwrap());
    fs::write(d.join("abb.lmc"), &joined).unwrap();
    let o = with_model(d, &model)
        .args(["-d", "-c", "abb.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(o.stdout, [both.clone(), b.clone()].concat());
    let info = lmc(d).args(["info", "abb.lmc"]).output().unwrap();
    ok(&info);
    let text = String::from_utf8(info.stdout).unwrap();
    assert!(text.contains("abb.lmc (stream 3):"), "{text}");

    // Damage in the second stream says which; garbage after is not a stream.
    let first =
        fs::read(d.join("ab.lmc")).unwrap().len() - fs::read(d.join("b.lmc")).unwrap().len();
    let mut bad = fs::read(d.join("ab.lmc")).unwrap();
    bad[first + 17] ^= 1;
    fs::write(d.join("bad.lmc"), &bad).unwrap();
    let o = with_model(d, &model)
        .args(["-d", "-c", "bad.lmc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // Stdout is streamed: the first stream, verified, went out before the
    // damage was found.
    assert_eq!(o.stdout, a);
    assert_eq!(
        stderr(&o),
        "lmc: bad.lmc: corrupt header (header checksum mismatch) (in stream 2 of concatenated streams)\n"
    );
    let mut bad = fs::read(d.join("ab.lmc")).unwrap();
    bad.extend_from_slice(b"junk");
    fs::write(d.join("bad.lmc"), &bad).unwrap();
    let o = with_model(d, &model)
        .args(["-t", "bad.lmc"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&o),
        "lmc: bad.lmc: corrupt file (extra bytes after the last chunk)\n"
    );
}

#[test]
fn an_output_that_is_a_directory_is_named() {
    let (dir, model, text) = setup();
    let d = dir.path();
    fs::create_dir(d.join("t.lmc")).unwrap();
    for force in [&[][..], &["-f"]] {
        let o = with_model(d, &model).args(force).arg("t").output().unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert_eq!(
            stderr(&o),
            "lmc: t: output t.lmc is a directory; name a file (e.g. -o t.lmc/NAME)\n"
        );
    }
    let o = with_model(d, &model)
        .args(["-f", "-o", "t.lmc", "t"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&o),
        "lmc: t: output t.lmc is a directory; name a file (e.g. -o t.lmc/NAME)\n"
    );
    assert_eq!(fs::read(d.join("t")).unwrap(), text);
    // A missing input is what is reported, even when its output exists.
    let o = with_model(d, &model)
        .args(["-d", "t.lmc/x.lmc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    fs::write(d.join("gone"), b"").unwrap();
    let o = with_model(d, &model)
        .args(["-d", "gone.lmc"])
        .output()
        .unwrap();
    assert_eq!(
        stderr(&o),
        "lmc: gone.lmc: No such file or directory\n",
        "the input is at fault, not its output"
    );
}

/// Starts compressing `mib` MiB of noise (a second or more each) as
/// `big`; returns once its temporary file exists.
/// Starts `lmc` on `len` bytes of noise (in tests' debug builds about
/// 20-30 KB/s on one thread: long enough to race with) and returns once its
/// temporary output exists.
fn start_big(d: &Path, model: &Path, len: usize) -> std::process::Child {
    fs::write(d.join("big"), noise(len, 1)).unwrap();
    let mut child = with_model(d, model)
        .args(["-T", "1", "big"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_temporary(d, &mut child);
    child
}

#[test]
fn a_lost_race_names_the_output() {
    let (dir, model, _) = setup();
    let d = dir.path();
    // The other writer comes right after the temporary file appears; lmc
    // then needs seconds more for 128 KiB, and fails only at its rename.
    let child = start_big(d, &model, 128 << 10);
    fs::write(d.join("big.lmc"), b"the other writer's").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "lmc: big: big.lmc was created by another process while lmc was writing it; left as it is (use -f to overwrite)\n"
    );
    assert_eq!(fs::read(d.join("big.lmc")).unwrap(), b"the other writer's");
    assert!(d.join("big").exists(), "input kept");
    assert!(!listing(d).iter().any(|n| n.ends_with(".lmc-tmp")));
}

#[cfg(unix)]
#[test]
fn sigterm_and_sighup_exit_143_and_129_leaving_nothing() {
    let (dir, model, _) = setup();
    let d = dir.path();
    for (sig, status, line) in [
        ("-TERM", 143, "lmc: terminated (SIGTERM)\n"),
        ("-HUP", 129, "lmc: hung up (SIGHUP)\n"),
    ] {
        let child = start_big(d, &model, 8 << 20);
        let kill = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(status), "{sig}");
        assert_eq!(stderr(&o), line);
        assert_eq!(listing(d), ["big", "model-1.lmm", "t"], "{sig}");
    }
}

#[test]
fn level_habits_get_messages_a_compressor_user_understands() {
    let (dir, model, _) = setup();
    let d = dir.path();
    let level = format!(
        "lmc: -9: no such level; lmc has -1 (the 200K model, the default), -2 (800K) and -3 (3.2M); --fast is -1, --best is -3\n{TRY_HELP}"
    );
    for args in [&["-9", "t"][..], &["-k9", "t"], &["-d", "-5", "t.lmc"]] {
        let o = lmc(d).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let want = level.replace(
            "-9:",
            &format!(
                "-{}:",
                args.concat()
                    .chars()
                    .find(|c| "4567890".contains(*c))
                    .unwrap()
            ),
        );
        assert_eq!(stderr(&o), want, "{args:?}");
    }
    let o = with_model(d, &model)
        .args(["-b", "-5", "t"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("lmc: --chunk-size <BYTES>: \"-5\" is not a chunk size: give a number of bytes from 1 to 16777216 (e.g. 2048, 4K, 1M)\n{TRY_HELP}")
    );
    // --fast is -1, --best is -3: nothing is shipped here, so they say so.
    let o = lmc(d).args(["--best", "-k", "t"]).output().unwrap();
    fails_with(&o, "the 3.2M model (level -3) is not shipped");
    let o = lmc(d)
        .args(["--best", "--fast", "-k", "t"])
        .output()
        .unwrap();
    fails_with(&o, "the 200K model (level -1) is not shipped");
    // The last of a level and --model wins.
    let o = lmc(d)
        .arg("--model")
        .arg(&model)
        .args(["-2", "-k", "t"])
        .output()
        .unwrap();
    fails_with(&o, "the 800K model (level -2) is not shipped");
    let o = lmc(d)
        .args(["-2", "--model"])
        .arg(&model)
        .args(["-k", "t"])
        .output()
        .unwrap();
    ok(&o);
    fs::remove_file(d.join("t.lmc")).unwrap();
    // The last of repeated options wins.
    ok(&with_model(d, &model)
        .args(["-b", "16", "-b", "64", "-k", "t"])
        .output()
        .unwrap());
    let info = lmc(d).args(["info", "t.lmc"]).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("chunk size:  64 bytes"));
    fs::remove_file(d.join("t.lmc")).unwrap();
}

#[test]
fn keep_rm_suffix_and_recursive() {
    let (dir, model, text) = setup();
    let d = dir.path();
    // -k then --rm: removed; --rm then -k: kept.
    ok(&with_model(d, &model)
        .args(["-k", "--rm", "t"])
        .output()
        .unwrap());
    assert!(!d.join("t").exists());
    ok(&with_model(d, &model)
        .args(["-d", "--rm", "-k", "t.lmc"])
        .output()
        .unwrap());
    assert!(d.join("t.lmc").exists());
    assert_eq!(fs::read(d.join("t")).unwrap(), text);
    fs::remove_file(d.join("t.lmc")).unwrap();

    // -S names the suffix both ways.
    ok(&with_model(d, &model)
        .args(["-S", ".lz", "t"])
        .output()
        .unwrap());
    assert!(d.join("t.lz").exists() && !d.join("t").exists());
    let o = with_model(d, &model).args(["-d", "t.lz"]).output().unwrap();
    fails_with(&o, "unknown suffix (expected .lmc); use -o FILE or -c");
    ok(&with_model(d, &model)
        .args(["-d", "--suffix", ".lz", "t.lz"])
        .output()
        .unwrap());
    assert_eq!(fs::read(d.join("t")).unwrap(), text);

    // -r walks directories; -d -r takes only compressed files.
    fs::create_dir_all(d.join("tree/sub")).unwrap();
    fs::write(d.join("tree/a"), &text[..50]).unwrap();
    fs::write(d.join("tree/sub/b"), &text[50..]).unwrap();
    ok(&with_model(d, &model).args(["-r", "tree"]).output().unwrap());
    assert_eq!(listing(&d.join("tree")), ["a.lmc", "sub"]);
    assert_eq!(listing(&d.join("tree/sub")), ["b.lmc"]);
    fs::write(d.join("tree/notes"), b"not compressed").unwrap();
    ok(&with_model(d, &model)
        .args(["-d", "-r", "tree"])
        .output()
        .unwrap());
    assert_eq!(listing(&d.join("tree")), ["a", "notes", "sub"]);
    assert_eq!(fs::read(d.join("tree/sub/b")).unwrap(), &text[50..]);
    let o = with_model(d, &model).arg("tree").output().unwrap();
    fails_with(&o, "lmc: tree: is a directory -- ignored");
}

/// A models directory shipping `model` as the 800K, and `t.lmc` made
/// from `t` with `-2`; returns the directory.
fn compressed_with_shipped_800k(d: &Path, model: &Path) -> std::path::PathBuf {
    let ship = d.join("ship");
    fs::create_dir(&ship).unwrap();
    fs::copy(model, ship.join("lm-800k.lmm")).unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-2", "-b", "64", "-k", "t"])
        .output()
        .unwrap();
    ok(&o);
    ship
}

#[test]
fn files_of_an_earlier_default_kept_in_the_tree_still_decode_by_themselves() {
    let (dir, model, text) = setup();
    let d = dir.path();
    // Compressed with -2 while this model was the 800K default ...
    let ship = compressed_with_shipped_800k(d, &model);
    // ... then a new 800K is shipped and the old one kept under the name
    // of an earlier default in the tree (`Shipped::retired`): the file
    // still decodes without naming a model.
    fs::rename(ship.join("lm-800k.lmm"), ship.join("lm-800k-enwik8.lmm")).unwrap();
    fs::write(
        ship.join("lm-800k.lmm"),
        fs::read(write_model(d, 3)).unwrap(),
    )
    .unwrap();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-d", "-c", "t.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(o.stdout, text);
}

#[test]
fn decompression_finds_the_shipped_model_by_itself() {
    let (dir, model, text) = setup();
    let d = dir.path();
    let ship = compressed_with_shipped_800k(d, &model);
    for args in [&["-d", "-c"][..], &["-t"], &["-l"]] {
        let o = lmc(d)
            .env("LMC_MODEL_DIR", &ship)
            .args(args)
            .arg("t.lmc")
            .output()
            .unwrap();
        ok(&o);
        if args[0] == "-d" {
            assert_eq!(o.stdout, text);
        }
    }
    // A model not shipped must be named, and the message says so.
    let other = write_model(d, 2);
    fs::remove_file(d.join("t.lmc")).unwrap();
    ok(&with_model(d, &other).args(["-k", "t"]).output().unwrap());
    let fp = model_int8::ModelFile::parse(&fs::read(&other).unwrap())
        .unwrap()
        .fingerprint();
    let o = lmc(d)
        .env("LMC_MODEL_DIR", &ship)
        .args(["-d", "-c", "t.lmc"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("lmc: t.lmc: compressed with model {fp:016x}, which is none of the shipped models found here; pass it with --model FILE\n")
    );
}

#[test]
fn list_is_gzips_table_and_test_is_silent() {
    let (dir, model, text) = setup();
    let d = dir.path();
    let b = sample(&fs::read(&model).unwrap(), 100, 64, 5);
    fs::write(d.join("b"), &b).unwrap();
    ok(&with_model(d, &model)
        .args(["-k", "t", "b"])
        .output()
        .unwrap());
    let (lt, lb) = (
        fs::metadata(d.join("t.lmc")).unwrap().len(),
        fs::metadata(d.join("b.lmc")).unwrap().len(),
    );
    let row = |c: u64, o: u64, name: &str| {
        let ratio = 100.0 * (o as f64 - c as f64) / o as f64;
        let (mode, block) = if name == "(totals)" {
            ("-", "-")
        } else {
            ("mixed/3", "64")
        };
        format!("{c:>19} {o:>19} {ratio:>5.1}% {mode:<14} {block:>6} {name}\n")
    };
    let head =
        "         compressed        uncompressed  ratio mode            block uncompressed_name\n";
    let o = lmc(d).args(["-l", "t.lmc"]).output().unwrap();
    ok(&o);
    let one = format!("{head}{}", row(lt, text.len() as u64, "t"));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        one,
        "no totals for one file"
    );
    let o = lmc(d).args(["-l", "t.lmc", "b.lmc"]).output().unwrap();
    ok(&o);
    let (n, m) = (text.len() as u64, b.len() as u64);
    let two = format!(
        "{head}{}{}{}",
        row(lt, n, "t"),
        row(lb, m, "b"),
        row(lt + lb, n + m, "(totals)")
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), two);
    assert_eq!(stderr(&o), "");
    // A damaged file is one line on stderr and status 1; the others listed.
    fs::write(d.join("bad.lmc"), b"not ours").unwrap();
    let o = lmc(d).args(["-l", "bad.lmc", "t.lmc"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stdout), one);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));

    // -t: silent on success; -v says OK.
    let o = with_model(d, &model)
        .args(["-t", "t.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));
    let o = with_model(d, &model)
        .args(["-t", "-v", "t.lmc"])
        .output()
        .unwrap();
    ok(&o);
    assert!(stderr(&o).starts_with("t.lmc: ") && stderr(&o).ends_with(": OK\n"));
}

#[test]
fn help_groups_options_as_gzip_does() {
    let o = Command::new(env!("CARGO_BIN_EXE_lmc"))
        .arg("--help")
        .output()
        .unwrap();
    ok(&o);
    let h = String::from_utf8(o.stdout).unwrap();
    let at = |s: &str| h.find(s).unwrap_or_else(|| panic!("{s:?} in {h}"));
    let (op, out, tune) = (at("\nOperation:\n"), at("\nOutput:\n"), at("\nTuning:\n"));
    assert!(op < out && out < tune, "{h}");
    for (flag, group) in [
        ("-d, --decompress", op),
        ("-t, --test", op),
        ("-l, --list", op),
        ("-c, --stdout", out),
        ("-k, --keep", out),
        ("-v, --verbose", out),
        ("--best", tune),
        ("-b, --chunk-size", tune),
        ("-T, --threads", tune),
    ] {
        let p = at(flag);
        let next = [op, out, tune, h.len()]
            .into_iter()
            .filter(|&g| g > group)
            .min()
            .unwrap();
        assert!(group < p && p < next, "{flag} under its heading: {h}");
    }
}

/// The corpus recipe of the README ("Many machines"): `split` a file,
/// compress the parts anywhere (here one after the other, as separate
/// processes with separate working directories), `cat` the streams in
/// order, and one `lmc -d` gives the file back; `lmc -t` and `lmc info`
/// see every part.
#[cfg(unix)]
#[test]
fn split_compress_apart_cat_decompress() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = write_model(d, 1);
    let text = sample(&fs::read(&model).unwrap(), 40 * 64 + 17, 64, 3);
    fs::write(d.join("big"), &text).unwrap();
    let sh = |script: &str| {
        let o = Command::new("sh")
            .current_dir(d)
            .env("LMC", env!("CARGO_BIN_EXE_lmc"))
            .env("LMC_MODEL_DIR", d.join("no-models"))
            .env("MODEL", &model)
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(o.status.success(), "{script}: {}", stderr(&o));
        o.stdout
    };
    sh("split -b 1000 big part. && ls part.* > parts && test $(wc -l < parts) = 3");
    for part in ["part.aa", "part.ab", "part.ac"] {
        fs::create_dir(d.join(format!("m-{part}"))).unwrap();
        fs::rename(d.join(part), d.join(format!("m-{part}/{part}"))).unwrap();
        sh(&format!(
            "cd m-{part} && \"$LMC\" -b 64 --model \"$MODEL\" {part} && mv {part}.lmc .."
        ));
    }
    sh("cat part.aa.lmc part.ab.lmc part.ac.lmc > big.lmc");
    let back = sh("\"$LMC\" -d -c --model \"$MODEL\" big.lmc");
    assert_eq!(back, text);
    sh("\"$LMC\" -t --model \"$MODEL\" big.lmc");
    let info = String::from_utf8(sh("\"$LMC\" info big.lmc")).unwrap();
    assert!(info.contains("big.lmc (stream 3):"), "{info}");
}
