//! Table 2 on a small configuration: a 200K-like (d_model 64) and an
//! 800K-like (d_model 128) column, each with a byte row and a BPE row of
//! small random-weight models (one layer, short window) on three chunks.
//! Every chunk decodes back byte for byte; the rows are found by their
//! file names (sized, shipped byte model, single-column names); a model in
//! the wrong column is refused; the summary has both columns beside the
//! paper's; the plot files are real PNG and SVG; the convergence flag
//! follows the held-out curve of a `metrics.csv`.

use std::path::{Path, PathBuf};

use host_bench::data::{self, Chunks, Sample};
use host_bench::table2::{self, BytesModel, RowSource, RowSpec, Size, Table2};
use model_int8::{quantize, quantize_tokens, Config, FloatModel, QuantOptions};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn enwik8() -> Vec<u8> {
    std::fs::read(format!("{SHARED}/enwik8/enwik8.head")).unwrap()
}

fn three_chunks() -> Chunks {
    data::load_enwik(
        format!("{SHARED}/enwik8/enwik8.head").as_ref(),
        data::ENWIK_EVAL_START,
        None,
        Sample::Even(3),
    )
    .unwrap()
}

/// A fresh folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("table2-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small random model of the width of `size`'s column: one layer, two
/// heads, a short window (so it runs fast), `vocab` symbols.
fn small_model(d_model: u32, vocab: u32, seed: u64) -> Vec<u8> {
    let c = Config {
        vocab,
        ..Config::sized(d_model, 1, 2, 32, 256)
    };
    let fm = FloatModel::random(c, seed);
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    if vocab == 256 {
        quantize(&fm, &enwik8()[..256], &opts).unwrap()
    } else {
        let calib: Vec<u32> = (0..256).map(|i| i % vocab).collect();
        quantize_tokens(&fm, &calib, &opts).unwrap()
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

/// A trainer `metrics.csv` of `n` evaluations every 100 steps whose
/// held-out bits per byte follow `val(step)`.
fn metrics_csv(n: u64, val: impl Fn(u64) -> f64) -> String {
    let mut s = String::from("step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s,val_wiki\n");
    for i in 1..=n {
        let step = 100 * i;
        s.push_str(&format!(
            "{step},{},{:.1},3.000e-3,2.5000,{:.4},4096,\n",
            step * 4096,
            step as f64,
            val(step)
        ));
    }
    s
}

fn slugs(rows: &[&str]) -> Vec<String> {
    rows.iter().map(|r| table2::row_slug(r).unwrap()).collect()
}

#[test]
fn two_columns_measure_summarize_and_plot() {
    let dir = temp_dir("columns");
    let models = dir.join("models");
    let shipped = dir.join("shipped");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::create_dir_all(&shipped).unwrap();
    let text = enwik8();
    let bpe = tokenize::Bpe::train(&[&text[..100_000]], 1000).unwrap();
    for (size, seed) in [(Size::K200, 1), (Size::K800, 2)] {
        let m = models.join(format!("table2-{}-bpe1k.lmm", size.slug()));
        write(&m, &small_model(size.d_model(), 1000, seed));
        bpe.save(&lmc::tokens::tokenizer_beside(&m)).unwrap();
    }
    // The 200K byte row: the shipped model; the 800K one: a sized file in
    // the folder, which wins over the shipped one.
    write(
        &Size::K200.shipped_bytes_model(&shipped),
        &small_model(64, 256, 3),
    );
    write(
        &Size::K800.shipped_bytes_model(&shipped),
        &small_model(128, 256, 4),
    );
    write(
        &models.join("table2-800k-bytes.lmm"),
        &small_model(128, 256, 5),
    );
    // Held-out curves: the 200K BPE row flat over its last fifth, the 800K
    // one still falling.
    write(
        &models.join("table2-200k-bpe1k.metrics.csv"),
        metrics_csv(10, |s| 3.0 - 1e-5 * s as f64).as_bytes(),
    );
    write(
        &models.join("table2-800k-bpe1k.metrics.csv"),
        metrics_csv(10, |s| 3.0 - 1e-3 * s as f64).as_bytes(),
    );

    let plan = table2::find_rows(
        &models,
        &Size::ALL,
        &slugs(&["bytes", "bpe1k", "bpe5k"]),
        &[],
        &shipped,
    )
    .unwrap();
    let found: Vec<_> = plan
        .specs
        .iter()
        .map(|s| (s.size, s.name.as_str(), s.source))
        .collect();
    assert_eq!(
        found,
        [
            (Size::K200, "ASCII", RowSource::ShippedBytes),
            (Size::K200, "BPE 1K", RowSource::Sized),
            (Size::K800, "ASCII", RowSource::Sized),
            (Size::K800, "BPE 1K", RowSource::Sized),
        ]
    );
    assert_eq!(plan.skipped.len(), 2, "{:?}", plan.skipped);
    assert!(plan.skipped.iter().all(|n| n.contains("bpe5k")));

    let chunks = three_chunks();
    let rows: Vec<_> = plan
        .specs
        .iter()
        .map(|s| table2::measure_row(s, &chunks, &|_| {}).unwrap())
        .collect();
    for r in &rows {
        assert!(r.round_trip_ok, "{} {}", r.size, r.name);
        assert_eq!((r.chunks, r.bytes), (3, 3 * 2048));
        assert_eq!(r.d_model, r.size.d_model());
        // A real code: the ideal length plus at most a few bytes a chunk.
        let ideal = r.ideal_rate * r.bytes as f64;
        assert!(
            r.coded_bytes as f64 >= ideal - 3.0 && r.coded_bytes as f64 <= ideal + 3.0 * 8.0,
            "{r:?}"
        );
        assert!(r.params_total > r.params_paper);
        assert_eq!(
            r.paper_rate_pct,
            if r.name == "ASCII" {
                Some(22.9)
            } else {
                Some(25.4)
            }
        );
    }
    let (ascii, bpe_row) = (&rows[0], &rows[1]);
    assert_eq!(ascii.tokens, ascii.bytes);
    assert!(ascii.convergence.is_none());
    assert!(bpe_row.bytes_per_token > 1.5, "{}", bpe_row.bytes_per_token);
    // The embedding and output layers are what a vocabulary adds.
    let c = &bpe_row.config;
    assert_eq!(
        bpe_row.params_total - bpe_row.params_paper,
        u64::from(2 * c.vocab + 1) * u64::from(c.d_model)
    );
    assert_eq!(bpe_row.tokenizer_hash, Some(format!("{:016x}", bpe.hash())));
    assert_eq!(
        rows[1].convergence.as_ref().map(|c| c.converged),
        Some(true)
    );
    assert_eq!(
        rows[3].convergence.as_ref().map(|c| c.converged),
        Some(false)
    );

    let t = Table2 {
        meta: host_bench::meta::Meta::now(),
        command: "test".into(),
        budget: "none (random weights)".into(),
        rows,
    };
    let sum = table2::summary(&t);
    assert_eq!(sum.len(), 2);
    assert!(sum.iter().all(|r| r.cells.len() == 2));
    let md = table2::markdown(&t);
    assert!(
        md.contains("| tokenizer | vocab | bytes per token | raw rate 200K (ours) | raw rate 800K (ours) | paper 200K (enwik9) | converged 200K | converged 800K |"),
        "{md}"
    );
    let line = |name: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap()
            .to_string()
    };
    let bpe_line = line("BPE 1K");
    assert!(bpe_line.ends_with("| yes | no |"), "{bpe_line}");
    assert!(line("ASCII").starts_with("| ASCII | 256 | 1.00 |"), "{md}");
    assert!(line("ASCII").ends_with("| – | – |"), "{md}");
    // The paper's column, its best of the rows shown in bold.
    assert!(md.contains("**22.9%**") && md.contains("25.4%"), "{md}");
    // One bold rate per column of ours, in the summary.
    let summary_part = md.split("\n## 200K").next().unwrap();
    assert_eq!(summary_part.matches("**").count(), 2 * 3, "{md}");
    assert!(md.contains("## 200K (d_model 64)") && md.contains("## 800K (d_model 128)"));

    let out = dir.join("out");
    table2::write_all(&t, &out).unwrap();
    let png = std::fs::read(out.join("table2.png")).unwrap();
    assert!(png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = std::fs::read_to_string(out.join("table2.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("paper 200K"),
        "{svg:.200}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("table2.json")).unwrap()).unwrap();
    let sizes: Vec<&str> = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["size"].as_str().unwrap())
        .collect();
    assert_eq!(sizes, ["200k", "200k", "800k", "800k"]);
    assert_eq!(json["summary"].as_array().unwrap().len(), 2);
    assert_eq!(json["figure"]["series"].as_array().unwrap().len(), 3);
    assert!(json["figure"]["caption"][0]
        .as_str()
        .unwrap()
        .contains("held-out enwik8"));
    assert!(json["meta"]["started_utc"].is_string());
    assert_eq!(json["rows"][3]["convergence"]["converged"], false);

    // A model beside another vocabulary's tokenizer is refused.
    let other = tokenize::Bpe::train(&[&text[..50_000]], 500).unwrap();
    let wrong = dir.join("wrong.tokenizer.json");
    other.save(&wrong).unwrap();
    let e = table2::measure_row(
        &RowSpec {
            name: "BPE 500".into(),
            size: Size::K200,
            model: models.join("table2-200k-bpe1k.lmm"),
            tokenizer: Some(wrong),
            source: RowSource::Sized,
        },
        &chunks,
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("tokenizer has 500"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn single_column_names_and_byte_overrides_are_found() {
    let dir = temp_dir("names");
    let byte = small_model(64, 256, 7);
    // The first measurement's names: 200K only.
    write(&dir.join("table2-ascii.lmm"), &byte);
    write(&dir.join("table2-bpe2k.lmm"), b"not read here");
    write(&dir.join("table2-bpe2k.tokenizer.json"), b"");
    let no_shipped = dir.join("nothing");
    let err = table2::find_rows(
        &dir,
        &Size::ALL,
        &slugs(&["ascii", "bpe2k"]),
        &[],
        &no_shipped,
    )
    .unwrap_err();
    // The (empty) tokenizer is read to name the row: the legacy BPE file
    // was found as the 200K column.
    assert!(
        err.to_string().contains("table2-bpe2k.tokenizer.json"),
        "{err}"
    );
    let plan = table2::find_rows(&dir, &Size::ALL, &slugs(&["bytes"]), &[], &no_shipped).unwrap();
    assert_eq!(plan.specs.len(), 1);
    assert_eq!(
        (plan.specs[0].size, plan.specs[0].source),
        (Size::K200, RowSource::SingleColumn)
    );
    assert_eq!(plan.skipped.len(), 1);
    assert!(
        plan.skipped[0].starts_with("800K bytes"),
        "{:?}",
        plan.skipped
    );

    // --bytes-model 800k=PATH gives the 800K byte row; the shipped model
    // wins over the single-column name.
    let shipped = dir.join("shipped");
    std::fs::create_dir_all(&shipped).unwrap();
    write(&Size::K200.shipped_bytes_model(&shipped), &byte);
    let given: BytesModel = format!("800k={}", dir.join("big.lmm").display())
        .parse()
        .unwrap();
    write(&given.path, &small_model(128, 256, 8));
    let plan = table2::find_rows(
        &dir,
        &Size::ALL,
        &slugs(&["bytes"]),
        std::slice::from_ref(&given),
        &shipped,
    )
    .unwrap();
    let found: Vec<_> = plan.specs.iter().map(|s| (s.size, s.source)).collect();
    assert_eq!(
        found,
        [
            (Size::K200, RowSource::ShippedBytes),
            (Size::K800, RowSource::BytesOverride)
        ]
    );
    assert!(plan.skipped.is_empty());
    // A given byte model that is not there is an error, not a skip.
    let missing: BytesModel = "200k=/nonexistent/x.lmm".parse().unwrap();
    assert!(table2::find_rows(
        &dir,
        &[Size::K200],
        &slugs(&["bytes"]),
        &[missing],
        &shipped
    )
    .is_err());

    // The command-line forms.
    assert_eq!("800K".parse::<Size>(), Ok(Size::K800));
    assert!("3m2".parse::<Size>().is_err());
    assert!("200k".parse::<BytesModel>().is_err());
    assert!("300k=x.lmm".parse::<BytesModel>().is_err());
    assert!(table2::row_slug("gpt2").is_err());
    assert_eq!(table2::row_slug("ASCII").unwrap(), "bytes");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_model_in_the_wrong_column_is_refused() {
    let dir = temp_dir("mismatch");
    let chunks = three_chunks();
    // A 200K-wide model under an 800K name.
    let m = dir.join("table2-800k-bytes.lmm");
    write(&m, &small_model(64, 256, 9));
    let plan = table2::find_rows(&dir, &[Size::K800], &slugs(&["bytes"]), &[], &dir).unwrap();
    assert_eq!(plan.specs.len(), 1);
    let e = table2::measure_row(&plan.specs[0], &chunks, &|_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("800K column (d_model 128)") && msg.contains("d_model 64 (200K)"),
        "{msg}"
    );
    // A width of neither column.
    let tiny = dir.join("tiny.lmm");
    write(&tiny, &lmc::models::tiny_random_model(4).unwrap());
    let e = table2::measure_row(
        &RowSpec {
            name: "ASCII".into(),
            size: Size::K200,
            model: tiny,
            tokenizer: None,
            source: RowSource::BytesOverride,
        },
        &chunks,
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("neither 200K nor 800K"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn convergence_follows_the_last_fifth_of_the_held_out_curve() {
    // 1,000 steps: the last fifth starts at step 800.
    let flat = metrics_csv(10, |s| {
        if s < 800 {
            3.0 - 1e-3 * s as f64
        } else {
            2.2 - 1e-5 * s as f64
        }
    });
    let c = table2::convergence(&flat, "flat.csv").unwrap();
    assert_eq!((c.steps, c.from_step, c.to_step), (1000, 800, 1000));
    assert!(c.converged && c.gain > 0.0 && c.gain < 0.01, "{c:?}");
    let falling = metrics_csv(10, |s| 3.0 - 1e-3 * s as f64);
    let c = table2::convergence(&falling, "falling.csv").unwrap();
    assert!(!c.converged && c.gain > 0.01, "{c:?}");
    // Rising counts as flat (no gain left).
    let rising = metrics_csv(10, |s| 2.0 + 1e-4 * s as f64);
    assert!(table2::convergence(&rising, "r").unwrap().converged);
    // Rows without an evaluation count for the steps, not the curve: the
    // first evaluation at or after 80% is taken.
    let mut sparse = String::from("step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s\n");
    for (step, val) in [
        (100, "3.0"),
        (700, "2.5"),
        (850, "2.40"),
        (900, ""),
        (1000, "2.39"),
    ] {
        sparse.push_str(&format!("{step},0,0,0,2.0,{val},0\n"));
    }
    let c = table2::convergence(&sparse, "s").unwrap();
    assert_eq!((c.from_step, c.to_step), (850, 1000));
    assert!(c.converged);
    // The first val_* column when there is no val_bpb.
    let named = "step,tokens,elapsed_s,lr,train_loss,val_enwik8,val_wiki\n1,0,0,0,0,3.5,9\n8,0,0,0,0,3.0,9\n10,0,0,0,0,2.0,1\n";
    let c = table2::convergence(named, "n").unwrap();
    assert!(
        (c.from_bpb, c.to_bpb) == (3.0, 2.0) && !c.converged,
        "{c:?}"
    );
    // No curve to judge: unknown.
    assert!(table2::convergence("step,tokens\n1,2\n", "x").is_none());
    let one = "step,tokens,elapsed_s,lr,train_bpb,val_bpb,tokens_per_s\n1000,0,0,0,2,2.5,0\n";
    assert!(table2::convergence(one, "x").is_none());
    assert!(table2::convergence("", "x").is_none());
}
