//! Training data: bytes from a file or a folder, explicit ranges, random
//! BOS-prefixed training windows and 2048-byte evaluation chunks.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::Path;

use md5::{Digest, Md5};
use rand::Rng;

use crate::error::{Error, Result};

/// Known enwik files, checked by size then md5: (bytes, md5, name).
pub const KNOWN_ENWIK: [(usize, &str, &str); 3] = [
    (100_000_000, "a1fa5ffddb56f4953e226637dabbb36a", "enwik8"),
    (1_000_000_000, "e206c3450ac99950df65bf70ef61a12d", "enwik9"),
    (4_154_399, "f1e4e2c811309823bb4aff045d4883d4", "enwik8.head"),
];

/// Reads a file, or every regular file of a folder in name order,
/// concatenated. A file the size of enwik8, enwik9 or our enwik8 head
/// must have its md5, so a damaged or different download is refused
/// before hours of training go into it.
pub fn load_bytes(path: &Path) -> Result<Vec<u8>> {
    let bytes = read_all(path).map_err(Error::io("read", path))?;
    if path.is_file() {
        check_known(&bytes).map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    }
    Ok(bytes)
}

fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    if path.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        let mut out = Vec::new();
        for name in names {
            out.extend_from_slice(&fs::read(name)?);
        }
        Ok(out)
    } else {
        fs::read(path)
    }
}

/// Checks `bytes` against [`KNOWN_ENWIK`] when its size is that of a
/// known file; returns the name it matched.
pub fn check_known(bytes: &[u8]) -> Result<Option<&'static str>> {
    let Some(&(_, want, name)) = KNOWN_ENWIK.iter().find(|k| k.0 == bytes.len()) else {
        return Ok(None);
    };
    let got: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if got != want {
        return Err(Error::Data(format!(
            "has the size of {name} but md5 {got}, not {want}: damaged or not {name}"
        )));
    }
    Ok(Some(name))
}

/// Parses `START..END` (END may be empty for "to the end of the data").
pub fn parse_range(s: &str) -> Result<(usize, Option<usize>)> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| Error::Data(format!("range {s:?} is not START..END")))?;
    let num = |x: &str| {
        x.replace('_', "")
            .parse::<usize>()
            .map_err(|e| Error::Data(format!("bad number {x:?} in range {s:?}: {e}")))
    };
    let start = num(a)?;
    let end = if b.is_empty() { None } else { Some(num(b)?) };
    if let Some(end) = end {
        if end <= start {
            return Err(Error::Data(format!("range {s:?} is empty")));
        }
    }
    Ok((start, end))
}

/// Resolves a parsed range against data of `len` bytes.
pub fn resolve(range: (usize, Option<usize>), len: usize) -> Result<Range<usize>> {
    let end = range.1.unwrap_or(len);
    if end > len || range.0 >= end {
        return Err(Error::Data(format!(
            "range {}..{} does not fit in {len} bytes of data",
            range.0, end
        )));
    }
    Ok(range.0..end)
}

/// One training batch as flat `[batch * len]` token ids: inputs start with
/// BOS (`vocab`) then the bytes (or token ids) shifted by one; targets are
/// the bytes (or token ids).
pub fn sample_batch<T: Copy + Into<i32>>(
    data: &[T],
    range: &Range<usize>,
    batch: usize,
    len: usize,
    bos: i32,
    rng: &mut impl Rng,
) -> (Vec<i32>, Vec<i32>) {
    assert!(range.len() > len, "training range shorter than a sequence");
    let mut inputs = Vec::with_capacity(batch * len);
    let mut targets = Vec::with_capacity(batch * len);
    for _ in 0..batch {
        let start = rng.random_range(range.start..=range.end - len);
        let bytes = &data[start..start + len];
        inputs.push(bos);
        inputs.extend(bytes[..len - 1].iter().map(|&b| b.into()));
        targets.extend(bytes.iter().map(|&b| b.into()));
    }
    (inputs, targets)
}

/// Consecutive chunks of at most `chunk` bytes covering `range`.
pub fn chunks(range: &Range<usize>, chunk: usize) -> Vec<Range<usize>> {
    (range.start..range.end)
        .step_by(chunk)
        .map(|s| s..(s + chunk).min(range.end))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_a_known_size_must_have_its_md5() {
        let fake = vec![b'x'; 4_154_399];
        let err = check_known(&fake).unwrap_err().to_string();
        assert!(err.contains("enwik8.head"), "{err}");
        assert_eq!(check_known(b"any other bytes").unwrap(), None);
    }

    #[test]
    fn the_shared_enwik8_head_passes() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/enwik8/enwik8.head");
        let bytes = fs::read(&path).expect("the shared data sets are beside the checkout");
        assert_eq!(check_known(&bytes).unwrap(), Some("enwik8.head"));
    }

    #[test]
    fn a_missing_data_file_is_named() {
        let path = std::env::temp_dir().join("no-such-dir-for-trainer/enwik8");
        let err = load_bytes(&path).unwrap_err();
        assert!(matches!(err, Error::Io { op: "read", .. }), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot read ") && msg.contains("no-such-dir-for-trainer/enwik8"),
            "{msg}"
        );
        assert!(std::error::Error::source(&err).is_some());

        // A file of enwik8.head's size with other bytes names the file.
        let path = std::env::temp_dir().join(format!("fake-enwik-{}", std::process::id()));
        fs::write(&path, vec![b'x'; 4_154_399]).unwrap();
        let err = load_bytes(&path).unwrap_err();
        let _ = fs::remove_file(&path);
        assert!(matches!(err, Error::Data(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("fake-enwik") && msg.contains("damaged or not enwik8.head"),
            "{msg}"
        );
    }

    #[test]
    fn bad_ranges_are_data_errors() {
        for bad in ["5", "5..2", "x..9"] {
            let err = parse_range(bad).unwrap_err();
            assert!(matches!(err, Error::Data(_)), "{err:?}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        let err = resolve((0, Some(10)), 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "range 0..10 does not fit in 5 bytes of data"
        );
    }
}
