//! A run's `metrics.csv`: one row per evaluation, written by [`train`]
//! and read back by the plots, `compare` and `history`.
//!
//! Columns: `step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s`,
//! then `val_NAME` for each validation source after the first (whose
//! values are `val_bpb`, the headline). An empty cell is a source that was
//! not evaluated.
//!
//! [`train`]: crate::train

use std::fs;
use std::path::Path;

use crate::error::{Error, Result};

/// The header for validation sources named `val_names` (the first one's
/// column is `val_bpb`).
pub fn header(val_names: &[&str]) -> String {
    let mut h = String::from("step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s");
    for name in val_names.iter().skip(1) {
        h.push_str(",val_");
        h.push_str(name);
    }
    h
}

/// One evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub step: u64,
    pub tokens: u64,
    pub elapsed_s: f64,
    pub lr: f64,
    pub train_bpb: f64,
    /// Bits per byte per validation source, in header order.
    pub val: Vec<Option<f64>>,
    pub tokens_per_s: f64,
}

impl Row {
    /// The CSV line, newline included.
    pub fn line(&self) -> String {
        let fmt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let mut line = format!(
            "{},{},{:.1},{:.3e},{:.4},{},{:.0}",
            self.step,
            self.tokens,
            self.elapsed_s,
            self.lr,
            self.train_bpb,
            fmt(self.val.first().copied().flatten()),
            self.tokens_per_s
        );
        for &v in self.val.iter().skip(1) {
            line.push(',');
            line.push_str(&fmt(v));
        }
        line.push('\n');
        line
    }
}

/// The curves of a `metrics.csv`, against training tokens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves {
    /// Validation sources in column order; `None` is the first one, whose
    /// name the header does not carry (`config.json` does).
    pub val_names: Vec<Option<String>>,
    /// `(tokens, train bits per byte)` per row.
    pub train: Vec<(u64, f64)>,
    /// `(tokens, bits per byte)` per validation source, evaluated rows only.
    pub val: Vec<Vec<(u64, f64)>>,
}

impl Curves {
    /// Parses the text of a `metrics.csv`; rows it cannot read are skipped.
    pub fn parse(text: &str) -> Curves {
        let mut lines = text.lines();
        let cols = validation_columns(lines.next().unwrap_or(""));
        let mut c = Curves {
            val_names: cols.iter().map(|&(_, n)| n.map(str::to_string)).collect(),
            val: vec![Vec::new(); cols.len()],
            train: Vec::new(),
        };
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let Some(Ok(tokens)) = f.get(1).map(|s| s.parse::<u64>()) else {
                continue;
            };
            if let Some(Ok(t)) = f.get(4).map(|s| s.parse::<f64>()) {
                c.train.push((tokens, t));
            }
            for (&(i, _), v) in cols.iter().zip(c.val.iter_mut()) {
                if let Some(Ok(y)) = f.get(i).map(|s| s.parse::<f64>()) {
                    v.push((tokens, y));
                }
            }
        }
        c
    }

    /// Reads and parses `csv`.
    pub fn read(csv: &Path) -> Result<Curves> {
        let text = fs::read_to_string(csv).map_err(Error::io("read", csv))?;
        Ok(Curves::parse(&text))
    }

    /// The headline curve: the first validation source.
    pub fn headline(&self) -> &[(u64, f64)] {
        self.val.first().map_or(&[], Vec::as_slice)
    }
}

/// The validation columns of a header written by [`header`], as
/// `(column, name)`, `None` naming the first source.
fn validation_columns(header: &str) -> Vec<(usize, Option<&str>)> {
    header
        .split(',')
        .enumerate()
        .filter_map(|(i, h)| match (i, h) {
            (5, _) => Some((i, None)),
            (0..=6, _) => None,
            (_, h) => h.strip_prefix("val_").map(|n| (i, Some(n))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, val: Vec<Option<f64>>) -> Row {
        Row {
            step,
            tokens: step * 4096,
            elapsed_s: step as f64,
            lr: 1e-3,
            train_bpb: 2.0,
            val,
            tokens_per_s: 4096.0,
        }
    }

    #[test]
    fn curves_read_back_what_header_and_rows_write() {
        let mut csv = header(&["enwik8", "wiki-AC", "speech"]) + "\n";
        csv += &row(10, vec![Some(1.9), Some(1.7), None]).line();
        csv += &row(20, vec![Some(1.8), Some(1.6), Some(3.0)]).line();
        let c = Curves::parse(&csv);
        assert_eq!(
            c.val_names,
            [None, Some("wiki-AC".into()), Some("speech".into())]
        );
        assert_eq!(c.train, [(40960, 2.0), (81920, 2.0)]);
        assert_eq!(c.headline(), [(40960, 1.9), (81920, 1.8)]);
        assert_eq!(c.val[1], [(40960, 1.7), (81920, 1.6)]);
        assert_eq!(c.val[2], [(81920, 3.0)]);
    }

    #[test]
    fn one_source_has_only_the_headline_column() {
        // tokens_per_s (column 6) is never a validation column.
        let c = Curves::parse(&(header(&["enwik8"]) + "\n1,4096,1.0,1e-3,2.0,1.9,4096\n"));
        assert_eq!(c.val_names, [None]);
        assert_eq!(c.headline(), [(4096, 1.9)]);
    }
}
