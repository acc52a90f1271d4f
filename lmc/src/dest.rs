//! Where each input's output goes, and whether the input is removed: gzip's
//! rules as a pure function of the input's name and the options
//! ([`plan`]). What needs the file system (does the destination exist, is
//! it the input, is stdout a terminal) is the caller's to check after.

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

/// Whether `path` names standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The destination of `input` under `rules`, as gzip decides it: `-t`
/// writes nothing; `-o FILE` writes FILE (`-o -` stdout); `-c` and stdin
/// write stdout; otherwise decompressing `NAME.lmc` writes `NAME` and
/// compressing `NAME` writes `NAME.lmc`. The input is removed only when
/// its output is a file, without `-k`. Options that contradict each
/// other (`-c` with `-o`, `-t` with `-c` or `-o`) are [`Error::Usage`]:
/// neither wins, so an input is never removed on a guess.
pub fn plan(input: &Path, rules: &Rules) -> Result<Plan, Error> {
    let stdin = is_stdin(input);
    if let Some(m) = conflict(rules) {
        return Err(Error::Usage(m.into()));
    }
    if rules.test && !rules.decompress {
        return Err(Error::TestWithoutDecompress);
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
    } else if rules.stdout || stdin {
        Dest::Stdout
    } else if rules.decompress {
        let name = input.to_string_lossy();
        match name.strip_suffix(suffix) {
            Some(stem) if !stem.is_empty() && !stem.ends_with('/') => {
                Dest::File(PathBuf::from(stem))
            }
            _ => return Err(Error::UnknownSuffix(suffix.into())),
        }
    } else {
        if input.to_string_lossy().ends_with(suffix) && !rules.force {
            return Err(Error::AlreadyCompressed(suffix.into()));
        }
        let mut s = input.as_os_str().to_owned();
        s.push(suffix);
        Dest::File(PathBuf::from(s))
    };
    let keeps = rules.keep || stdin || matches!(dest, Dest::Stdout | Dest::Nowhere);
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
        plan(Path::new(input), rules).map_err(|e| e.to_string())
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
}
