//! Training data: bytes from a file or a folder, explicit ranges, random
//! BOS-prefixed training windows and 2048-byte evaluation chunks.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::Path;

use rand::Rng;

/// Reads a file, or every regular file of a folder in name order,
/// concatenated.
pub fn load_bytes(path: &Path) -> io::Result<Vec<u8>> {
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

/// Parses `START..END` (END may be empty for "to the end of the data").
pub fn parse_range(s: &str) -> Result<(usize, Option<usize>), String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("range {s:?} is not START..END"))?;
    let num = |x: &str| {
        x.replace('_', "")
            .parse::<usize>()
            .map_err(|e| format!("bad number {x:?} in range {s:?}: {e}"))
    };
    let start = num(a)?;
    let end = if b.is_empty() { None } else { Some(num(b)?) };
    if let Some(end) = end {
        if end <= start {
            return Err(format!("range {s:?} is empty"));
        }
    }
    Ok((start, end))
}

/// Resolves a parsed range against data of `len` bytes.
pub fn resolve(range: (usize, Option<usize>), len: usize) -> Result<Range<usize>, String> {
    let end = range.1.unwrap_or(len);
    if end > len || range.0 >= end {
        return Err(format!(
            "range {}..{} does not fit in {len} bytes of data",
            range.0, end
        ));
    }
    Ok(range.0..end)
}

/// One training batch as flat `[batch * len]` token ids: inputs start with
/// BOS (`vocab`) then the bytes shifted by one; targets are the bytes.
pub fn sample_batch(
    data: &[u8],
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
        inputs.extend(bytes[..len - 1].iter().map(|&b| b as i32));
        targets.extend(bytes.iter().map(|&b| b as i32));
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
