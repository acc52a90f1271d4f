//! Report writers: Markdown, JSON and CSV (the run's metadata is
//! [`meta`](crate::meta)).

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use crate::data::Kind;
use crate::table1::{Record, Table1};
use crate::Error;

pub use crate::meta::{utc_from_unix, utc_now, DatasetMeta, Machine, Meta, ModelMeta};

fn pct(r: f64) -> String {
    format!("{:.1}", 100.0 * r)
}

fn chunk_label(c: Option<u32>) -> String {
    c.map_or("∞".into(), |c| c.to_string())
}

/// Table 1 as Markdown: one row per compressor, chunking and measure, two
/// columns (ours, paper) per data set.
pub fn markdown(t: &Table1) -> String {
    let kinds: Vec<Kind> = t.meta.datasets.iter().map(|d| d.kind).collect();
    let mut s = String::new();
    let _ = writeln!(s, "# Table 1: compression rates (%, lower is better)\n");
    let _ = writeln!(
        s,
        "Ours measured by {} on {} ({} cores, {:.0} GiB, {}), started {}, {:.1} s. \
         Paper: Delétang et al. 2023, Table 1, on 1 GB per data set.\n",
        t.meta.tool,
        t.meta.machine.cpu,
        t.meta.machine.cores,
        t.meta.machine.memory_gib,
        t.meta.machine.os,
        t.meta.started_utc,
        t.meta.seconds
    );
    let _ = writeln!(s, "| data set | source | chunks | bytes | chosen |");
    let _ = writeln!(s, "|---|---|---:|---:|---|");
    for d in &t.meta.datasets {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} of {} available |",
            d.kind, d.source, d.chunks, d.bytes, d.sample, d.available
        );
    }
    if !t.meta.models.is_empty() {
        let _ = writeln!(s, "\n| model | file | parameters | file bytes |");
        let _ = writeln!(s, "|---|---|---:|---:|");
        for m in &t.meta.models {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                m.name, m.path, m.parameters, m.file_bytes
            );
        }
    }
    let _ = write!(s, "\n| chunk | compressor | rate |");
    for k in &kinds {
        let _ = write!(s, " {k} | {k} (paper) |");
    }
    let _ = write!(s, "\n|---|---|---|");
    for _ in &kinds {
        let _ = write!(s, "---:|---:|");
    }
    s.push('\n');
    let mut keys: Vec<(Option<u32>, String, crate::table1::Measure)> = Vec::new();
    for r in &t.records {
        let k = (r.chunk, r.compressor.clone(), r.measure);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    // Unchunked rows first, as in the paper.
    keys.sort_by_key(|k| k.0.is_some());
    for (chunk, comp, measure) in &keys {
        let _ = write!(
            s,
            "| {} | {} | {} |",
            chunk_label(*chunk),
            comp,
            measure.label()
        );
        for k in &kinds {
            let r = t.records.iter().find(|r| {
                r.chunk == *chunk
                    && &r.compressor == comp
                    && r.measure == *measure
                    && r.dataset == *k
            });
            match r {
                Some(r) => {
                    let _ = write!(
                        s,
                        " {} | {} |",
                        pct(r.rate),
                        r.paper_rate.map_or("".into(), pct)
                    );
                }
                None => s.push_str(" | |"),
            }
        }
        s.push('\n');
    }
    if !t.meta.notes.is_empty() {
        s.push_str("\nNotes:\n\n");
        for n in &t.meta.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// Table 1 as CSV, one line per record.
pub fn csv(records: &[Record]) -> String {
    let mut s = String::from(
        "dataset,compressor,paper_name,chunk,measure,rate_percent,paper_percent,chunks,bytes,compressed_bytes\n",
    );
    for r in records {
        let _ = writeln!(
            s,
            "{},\"{}\",{},{},{},{:.3},{},{},{},{:.1}",
            r.dataset,
            r.compressor.replace('"', "\"\""),
            r.paper_name.as_deref().unwrap_or(""),
            r.chunk.map_or("inf".into(), |c| c.to_string()),
            serde_json::to_value(r.measure)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            100.0 * r.rate,
            r.paper_rate
                .map_or(String::new(), |p| format!("{:.1}", 100.0 * p)),
            r.chunks,
            r.bytes,
            r.compressed_bytes
        );
    }
    s
}

/// Writes `table1.md`, `table1.json` and `table1.csv` into `dir`.
pub fn write_all(t: &Table1, dir: &Path) -> Result<(), Error> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_string_pretty(t).map_err(|e| Error::Data(e.to_string()))?;
    for (name, body) in [
        ("table1.md", markdown(t)),
        ("table1.json", json),
        ("table1.csv", csv(&t.records)),
    ] {
        let p = dir.join(name);
        fs::write(&p, body).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting() {
        assert_eq!(utc_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_from_unix(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
