//! Where each input's output goes, and whether the input is removed: gzip's
//! rules as a pure function of the input's name and the options
//! ([`plan`]). What needs the file system (does the destination exist, is
//! it the input, is stdout a terminal) is the caller's to check after.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use crate::Error;

/// The suffix of compressed files.
pub const SUFFIX: &str = ".lmc";

/// Where the output of one input goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Standard output.
    Stdout,
    /// A file.
    File(PathBuf),
    /// Nowhere: decode and verify only (`-t`).
    Nowhere,
}

/// The options that decide destinations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// Decompress (`-d`; also implied by `-t`).
    pub decompress: bool,
    /// Test: decode and verify, write nothing (`-t`).
    pub test: bool,
    /// Write to this file (`-o`; `-` is stdout).
    pub output: Option<PathBuf>,
    /// Write to stdout (`-c`).
    pub stdout: bool,
    /// Overwrite, and compress files that already end in [`SUFFIX`] (`-f`).
    pub force: bool,
    /// Keep the input (`-k`).
    pub keep: bool,
    /// The suffix of compressed files (`-S`); `None` is [`SUFFIX`].
    pub suffix: Option<String>,
}

impl Rules {
    /// The suffix of compressed files.
    pub fn suffix(&self) -> &str {
        self.suffix.as_deref().unwrap_or(SUFFIX)
    }
}

/// What happens to one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Where its output goes.
    pub dest: Dest,
    /// Whether the input is removed once its output is complete.
    pub remove_input: bool,
}

/// What an input is, as far as its plan cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Standard input (`-`).
    Stdin,
    /// A regular file.
    Regular,
    /// A directory (taken only by `-r`, which lists its files).
    Directory,
    /// Anything else that can be read: a FIFO, a device, a socket,
    /// `<(cmd)`. Read as a stream, as standard input is, and never
    /// removed.
    Other,
}

/// Whether `path` names standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// `name` without `suffix` at its end, byte for byte (names need not be
/// UTF-8); `None` if it does not end so.
pub fn strip_suffix<'a>(name: &'a OsStr, suffix: &str) -> Option<&'a OsStr> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        name.as_bytes()
            .strip_suffix(suffix.as_bytes())
            .map(OsStr::from_bytes)
    }
    #[cfg(not(unix))]
    {
        name.to_str()?.strip_suffix(suffix).map(OsStr::new)
    }
}

/// Whether `name` ends with `suffix`, byte for byte.
pub fn has_suffix(name: &OsStr, suffix: &str) -> bool {
    strip_suffix(name, suffix).is_some()
}

/// The destination of `input` (a `kind` of input) under `rules`, as gzip
/// decides it: `-t` writes nothing; `-o FILE` writes FILE (`-o -`
/// stdout); `-c` and stdin write stdout; otherwise decompressing
/// `NAME.lmc` writes `NAME` and compressing `NAME` writes `NAME.lmc`
/// (names compared and built byte for byte). The input is removed only
/// when it is a regular file and its output is a file, without `-k`. An
/// input that is neither a regular file nor stdin (a FIFO, a device) is
/// read as a stream, but only with `-c`, `-o` or `-t`: gzip's rule, since
/// it is never removed. A directory is not an input. Options that
/// contradict each other (`-c` with `-o`, `-t` with `-c` or `-o`) are
/// [`Error::Usage`]: neither wins, so an input is never removed on a
/// guess.
pub fn plan(input: &Path, kind: InputKind, rules: &Rules) -> Result<Plan, Error> {
    if let Some(m) = conflict(rules) {
        return Err(Error::Usage(m.into()));
    }
    if rules.test && !rules.decompress {
        return Err(Error::TestWithoutDecompress);
    }
    let named_elsewhere = rules.test || rules.output.is_some() || rules.stdout;
    match kind {
        InputKind::Directory => return Err(Error::IsDirectory),
        InputKind::Other if !named_elsewhere => return Err(Error::NotRegularFile),
        _ => {}
    }
    let suffix = rules.suffix();
    let dest = if rules.test {
        Dest::Nowhere
    } else if let Some(o) = &rules.output {
        if is_stdin(o) {
            Dest::Stdout
        } else {
            Dest::File(o.clone())
        }
    } else if rules.stdout || kind == InputKind::Stdin {
        Dest::Stdout
    } else if rules.decompress {
        match strip_suffix(input.as_os_str(), suffix) {
            Some(stem) if !stem.is_empty() && !has_suffix(stem, "/") => {
                Dest::File(PathBuf::from(stem))
            }
            _ => return Err(Error::UnknownSuffix(suffix.into())),
        }
    } else {
        if has_suffix(input.as_os_str(), suffix) && !rules.force {
            return Err(Error::AlreadyCompressed(suffix.into()));
        }
        let mut s = OsString::from(input.as_os_str());
        s.push(suffix);
        Dest::File(PathBuf::from(s))
    };
    let keeps =
        rules.keep || kind != InputKind::Regular || matches!(dest, Dest::Stdout | Dest::Nowhere);
    Ok(Plan {
        dest,
        remove_input: !keeps,
    })
}

/// The usage message for options that contradict each other, if any.
pub fn conflict(rules: &Rules) -> Option<&'static str> {
    let o = rules.output.is_some();
    if rules.stdout && o {
        Some("-c and -o conflict: -c writes to standard output, -o to a file; give one of them")
    } else if rules.test && (rules.stdout || o) {
        Some("-t writes nothing: it does not go with -c or -o")
    } else if matches!(rules.suffix.as_deref(), Some("")) {
        Some("-S needs a non-empty suffix (e.g. -S .lm)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(p: &str, remove_input: bool) -> Plan {
        Plan {
            dest: Dest::File(p.into()),
            remove_input,
        }
    }

    fn go(input: &str, rules: &Rules) -> Result<Plan, String> {
        let kind = if input == "-" {
            InputKind::Stdin
        } else {
            InputKind::Regular
        };
        plan(Path::new(input), kind, rules).map_err(|e| e.to_string())
    }

    const STDOUT_KEEP: Plan = Plan {
        dest: Dest::Stdout,
        remove_input: false,
    };

    #[test]
    fn compress_names_and_removes() {
        let r = Rules::default();
        assert_eq!(go("a", &r), Ok(file("a.lmc", true)));
        assert_eq!(go("dir/a.txt", &r), Ok(file("dir/a.txt.lmc", true)));
        let keep = Rules {
            keep: true,
            ..r.clone()
        };
        assert_eq!(go("a", &keep), Ok(file("a.lmc", false)));
        assert_eq!(
            go("a.lmc", &r),
            Err("already has the .lmc suffix -- unchanged (use -f to compress anyway)".into())
        );
        let force = Rules { force: true, ..r };
        assert_eq!(go("a.lmc", &force), Ok(file("a.lmc.lmc", true)));
    }

    #[test]
    fn decompress_strips_the_suffix() {
        let r = Rules {
            decompress: true,
            ..Rules::default()
        };
        assert_eq!(go("a.lmc", &r), Ok(file("a", true)));
        assert_eq!(go("d/x.tar.lmc", &r), Ok(file("d/x.tar", true)));
        for bad in ["a", "a.gz", ".lmc", "d/.lmc"] {
            assert_eq!(
                go(bad, &r),
                Err("unknown suffix (expected .lmc); use -o FILE or -c".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn stdin_stdout_output_and_test_keep_the_input() {
        let r = Rules::default();
        assert_eq!(go("-", &r), Ok(STDOUT_KEEP));
        let c = Rules {
            stdout: true,
            ..r.clone()
        };
        assert_eq!(go("a", &c), Ok(STDOUT_KEEP));
        // -c on a .lmc name when compressing: the name is not checked.
        assert_eq!(go("a.lmc", &c), Ok(STDOUT_KEEP));
        let o = Rules {
            output: Some("out".into()),
            ..r.clone()
        };
        assert_eq!(go("a", &o), Ok(file("out", true)));
        assert_eq!(go("-", &o), Ok(file("out", false)));
        let o_dash = Rules {
            output: Some("-".into()),
            ..r.clone()
        };
        assert_eq!(go("a", &o_dash), Ok(STDOUT_KEEP));
        let t = Rules {
            decompress: true,
            test: true,
            ..r.clone()
        };
        let nowhere = Plan {
            dest: Dest::Nowhere,
            remove_input: false,
        };
        assert_eq!(go("a.lmc", &t), Ok(nowhere.clone()));
        assert_eq!(go("noext", &t), Ok(nowhere));
        let t_compress = Rules { test: true, ..r };
        assert_eq!(
            go("a", &t_compress),
            Err("-t only applies to decompression".into())
        );
    }

    #[test]
    fn contradictions_are_refused_and_suffix_is_chosen() {
        let c_o = Rules {
            stdout: true,
            output: Some("out".into()),
            ..Rules::default()
        };
        for decompress in [false, true] {
            let r = Rules {
                decompress,
                ..c_o.clone()
            };
            assert_eq!(
                go("a.lmc", &r),
                Err("-c and -o conflict: -c writes to standard output, -o to a file; give one of them".into())
            );
        }
        let s = Rules {
            suffix: Some(".z".into()),
            ..Rules::default()
        };
        assert_eq!(go("a", &s), Ok(file("a.z", true)));
        let d = Rules {
            decompress: true,
            ..s
        };
        assert_eq!(go("a.z", &d), Ok(file("a", true)));
        assert_eq!(
            go("a.lmc", &d),
            Err("unknown suffix (expected .z); use -o FILE or -c".into())
        );
    }

    #[test]
    fn streams_that_are_not_files_need_an_output_and_are_kept() {
        let fifo = |rules: &Rules| {
            plan(Path::new("p"), InputKind::Other, rules).map_err(|e| e.to_string())
        };
        assert_eq!(
            fifo(&Rules::default()),
            Err("not a regular file -- ignored".into())
        );
        let c = Rules {
            stdout: true,
            ..Rules::default()
        };
        assert_eq!(fifo(&c), Ok(STDOUT_KEEP));
        let o = Rules {
            output: Some("out".into()),
            ..Rules::default()
        };
        assert_eq!(fifo(&o), Ok(file("out", false)));
        let t = Rules {
            decompress: true,
            test: true,
            ..Rules::default()
        };
        assert!(fifo(&t).is_ok());
        assert_eq!(
            plan(Path::new("d"), InputKind::Directory, &c).map_err(|e| e.to_string()),
            Err("is a directory -- ignored".into())
        );
    }

    #[cfg(unix)]
    #[test]
    fn names_are_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let name = |b: &[u8]| PathBuf::from(OsStr::from_bytes(b));
        let d = Rules {
            decompress: true,
            ..Rules::default()
        };
        for stem in [&b"x\xff"[..], b"x\xfe", b"\xc3(.tar"] {
            let mut packed = stem.to_vec();
            packed.extend_from_slice(b".lmc");
            let p = plan(&name(&packed), InputKind::Regular, &d).unwrap();
            assert_eq!(p.dest, Dest::File(name(stem)));
            let p = plan(&name(stem), InputKind::Regular, &Rules::default()).unwrap();
            assert_eq!(p.dest, Dest::File(name(&packed)));
        }
        let r = plan(&name(b"\xff.lmc"), InputKind::Regular, &Rules::default());
        assert!(matches!(r, Err(Error::AlreadyCompressed(_))));
    }
}
