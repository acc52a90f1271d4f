//! What clap cannot say well to a compressor user: `-9` (gzip's and
//! zstd's level, not ours) and option values that start with `-`.

use std::ffi::OsString;

/// Short options that take a value (the rest of the word, or the next
/// word).
const TAKES_VALUE: &[char] = &['o', 'm', 'L', 'b', 'T', 'S'];

/// The usage message for a level `lmc` does not have (`-9`, `-k4`), if
/// `args` (without the program name) hold one before `--`.
pub fn bad_level(args: &[OsString]) -> Option<String> {
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let Some(a) = a.to_str() else { continue };
        if a == "--" {
            break;
        }
        let Some(flags) = a.strip_prefix('-').filter(|f| !f.starts_with('-')) else {
            continue;
        };
        for (i, c) in flags.char_indices() {
            if TAKES_VALUE.contains(&c) {
                skip_next = i + 1 == flags.len();
                break;
            }
            if c.is_ascii_digit() && !('1'..='3').contains(&c) {
                // The whole number, as the user typed it (`-19`, not `-9`).
                let start = flags[..i]
                    .rfind(|d: char| !d.is_ascii_digit())
                    .map_or(0, |k| k + 1);
                let end = flags[i..]
                    .find(|d: char| !d.is_ascii_digit())
                    .map_or(flags.len(), |k| i + k);
                let level = &flags[start..end];
                return Some(format!(
                    "-{level}: no such level; lmc has -1 (the 200K model, the default), -2 (800K) and -3 (3.2M); --fast is -1, --best is -3"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str]) -> Option<String> {
        let v: Vec<OsString> = args.iter().map(OsString::from).collect();
        bad_level(&v).map(|m| m[..m.find(':').unwrap() + 1].to_string())
    }

    #[test]
    fn levels_past_three_are_named() {
        assert_eq!(check(&["-9", "f"]), Some("-9:".into()));
        assert_eq!(check(&["-k9", "f"]), Some("-9:".into()));
        assert_eq!(check(&["-19"]), Some("-19:".into()));
        assert_eq!(check(&["-k19"]), Some("-19:".into()));
        assert_eq!(check(&["-0"]), Some("-0:".into()));
        for ok in [
            &["-1", "f"][..],
            &["-b", "5", "f"],
            &["-b5"],
            &["-T", "4"],
            &["-o", "-9"],
            &["--", "-9"],
            &["-kb", "9"],
        ] {
            assert_eq!(check(ok), None, "{ok:?}");
        }
    }
}
