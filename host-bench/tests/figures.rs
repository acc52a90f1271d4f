//! The paper's figures on small configurations: Figure 6's curves (shape,
//! and their end equal to Table 1's numbers for the same chunks), the
//! samplers of Figures 3–5 (distributions sum to one, seeded samples
//! reproducible) and Figure 2's adjusted rates.

use std::path::{Path, PathBuf};

use host_bench::baselines::{Gzip, Xz};
use host_bench::data::{self, Chunks, Sample, CHUNK};
use host_bench::generate::{self, CompressorSampler, Given, ModelSampler, Sampler};
use host_bench::lm::{self, LmModel};
use host_bench::{figure2, figure6, table1};
use lmc::ChunkModel;
use model_int8::{Config, FloatModel, QuantOptions};

mod common;

use common::shared;

/// `n` evenly spaced held-out enwik8 chunks, or `None` (skipping, said
/// so) when the file is missing and `LMC_SKIP_MISSING_DATA=1`.
fn enwik(n: usize) -> Option<Chunks> {
    let p = shared("enwik8/enwik8.head")?;
    Some(data::load_enwik(&p, data::ENWIK_EVAL_START, None, Sample::Even(n)).unwrap())
}

/// A small random-weight int8 model with a 2048-byte context (fast in
/// debug builds; it compresses nothing well, but runs every code path).
fn small_model() -> Vec<u8> {
    let cfg = Config::sized(8, 1, 2, 16, 2048);
    let text = b"a small model for the figure tests: the quick brown fox jumps over the lazy dog";
    let opts = QuantOptions {
        max_calibration_bytes: 256,
        ..QuantOptions::default()
    };
    model_int8::quantize(&FloatModel::random(cfg, 11), text, &opts).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("host-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn classical_grid_is_dense_then_every_16() {
    let g = figure6::classical_grid(2048, 64, 16);
    assert_eq!(g.len(), 64 + 123 + 1);
    assert_eq!(&g[..3], &[1, 2, 3]);
    assert_eq!((g[63], g[64], g[65]), (64, 80, 96));
    assert_eq!(g[g.len() - 2..], [2032, 2048]);
    assert!(g.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn figure6_curves_end_at_table1_rates() {
    let Some(chunks) = enwik(3) else { return };
    let bytes = small_model();
    let m = LmModel::new("small".into(), &bytes).unwrap();

    // Model: one traced pass gives every n; its end is Table 1's LM row.
    let traced = figure6::trace_chunks(m.source(), &chunks, |_| {}).unwrap();
    let curve = figure6::model_curve(m.name(), &traced);
    assert_eq!(curve.n, (1..=CHUNK).collect::<Vec<_>>());
    assert_eq!((curve.rate.len(), curve.chunks), (CHUNK, 3));
    assert!(curve.rate.iter().all(|r| r.is_finite() && *r > 0.0));
    let s = lm::measure_lm(&m, &chunks, false, |_| {}).unwrap();
    // Table 1 sums each chunk's log-loss in units of 2^-20 bits (so that
    // shards add exactly); the curve sums the f64s.
    assert!(
        (curve.end_rate() - s.ideal_rate()).abs() < 1e-9,
        "{} vs {}",
        curve.end_rate(),
        s.ideal_rate()
    );
    assert_eq!(curve.coded_bytes, Some(s.coded_sum));
    assert!((curve.coded_rate().unwrap() - s.raw_rate()).abs() < 1e-15);
    let codes = lm::code_chunks(m.source(), &chunks, |_| {}).unwrap();
    for (c, t) in codes.iter().zip(&traced) {
        assert_eq!(c.bytes, t.code);
        assert_eq!(t.cumulative_bits.len(), CHUNK);
        assert_eq!(*t.cumulative_bits.last().unwrap(), c.ideal_bits);
    }

    // gzip on the full grid: its end is Table 1's chunked gzip row, both
    // with a header per chunk and with the header counted once.
    let grid = figure6::classical_grid(CHUNK, 64, 16);
    let gz = Gzip::default();
    let g = figure6::classical_curve(&gz, &chunks, &grid, |_| {}).unwrap();
    assert_eq!(g.n, grid);
    assert_eq!(g.rate.len(), grid.len());
    let t1 = table1::measure_classical(&gz, &chunks, false).unwrap();
    assert!((g.end_rate() - t1.chunked_rate_plain()).abs() < 1e-12);
    let once = g.rate_header_once.as_ref().unwrap();
    assert!((once.last().unwrap() - t1.chunked_rate()).abs() < 1e-12);
    // A one-byte gzip file is all header: rate ~ 21 at n = 1.
    assert!(g.rate[0] > 10.0, "{}", g.rate[0]);

    // LZMA2 on a short grid, same check.
    let xz = Xz::paper();
    let x = figure6::classical_curve(&xz, &chunks, &[1, 100, CHUNK], |_| {}).unwrap();
    let t1x = table1::measure_classical(&xz, &chunks, false).unwrap();
    assert!((x.end_rate() - t1x.chunked_rate_plain()).abs() < 1e-12);

    // The report: CSV with a row per n and a column per curve, JSON, plots.
    let d = figure6::DatasetCurves {
        dataset: chunks.kind,
        chunks: chunks.len(),
        curves: vec![curve, g],
        table1_checks: Vec::new(),
    };
    let csv = figure6::csv(&d);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + CHUNK);
    assert_eq!(lines[0].split(',').count(), 1 + 1 + 2);
    assert!(lines[2048].starts_with("2048,"));
    // n = 65 is off the gzip grid: empty gzip cells.
    assert!(lines[65].ends_with(",,"), "{}", lines[65]);
    let f = figure6::Figure6 {
        meta: host_bench::meta::Meta::now(),
        command: "test".into(),
        classical_grid: "every n up to 64, then every 16".into(),
        datasets: vec![d],
    };
    let dir = scratch("figure6");
    figure6::write_all(&f, &dir, 2.0).unwrap();
    for name in [
        "figure6.json",
        "figure6-enwik.csv",
        "figure6-enwik.png",
        "figure6-enwik.svg",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    let png = std::fs::read(dir.join("figure6-enwik.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("figure6.json")).unwrap()).unwrap();
    // Model curves in the JSON are cut to the classical grid.
    assert_eq!(
        json["datasets"][0]["curves"][0]["n"]
            .as_array()
            .unwrap()
            .len(),
        grid.len()
    );
    assert!(json["meta"]["machine"]["cores"].as_u64().unwrap() >= 1);
    let _ = std::fs::remove_dir_all(&dir);
}

fn assert_sums_to_one(p: &[f64], what: &str) {
    assert_eq!(p.len(), 256, "{what}");
    let sum: f64 = p.iter().sum();
    assert!((sum - 1.0).abs() < 1e-9, "{what}: {sum}");
    assert!(p.iter().all(|&q| q > 0.0 && q <= 1.0), "{what}");
}

fn text_context() -> Option<Vec<u8>> {
    let c = enwik(1)?;
    Some(c.data[..400].to_vec())
}

#[test]
fn sampler_distributions_sum_to_one() {
    let Some(ctx) = text_context() else { return };
    let gz = Gzip::default();
    let xz = Xz::paper();
    let bytes = small_model();
    let src = lmc::Int8Source::new(&bytes).unwrap();
    let mut work = src.new_work().unwrap();
    let mut samplers: Vec<Box<dyn Sampler + '_>> = vec![
        Box::new(CompressorSampler::new(&gz)),
        Box::new(CompressorSampler::new(&xz)),
        Box::new(ModelSampler::new(
            "small".into(),
            src.model(&mut work).unwrap(),
        )),
    ];
    for s in &mut samplers {
        // Empty context, then after real text.
        assert_sums_to_one(&s.distribution().unwrap(), &s.name());
        for &b in &ctx {
            s.push(b);
        }
        assert_sums_to_one(&s.distribution().unwrap(), &s.name());
    }
    // A compressor's distribution follows its code lengths: the byte that
    // continues a long repeat is at least as likely as any other.
    let mut s = CompressorSampler::new(&gz);
    for &b in b"abcdefghabcdefghabcdefghabcdefghabcdefghabcdefg" {
        s.push(b);
    }
    let p = s.distribution().unwrap();
    let best = p.iter().cloned().fold(0.0, f64::max);
    assert_eq!(p[usize::from(b'h')], best);
    // Lengths to probabilities: one byte shorter is 256 times as likely.
    let q = generate::lengths_to_distribution(&[10, 11, 11]);
    assert!((q[0] / q[1] - 256.0).abs() < 1e-9);
}

#[test]
fn seeded_samples_are_reproducible() {
    let Some(ctx) = text_context() else { return };
    let real = &ctx[..300];
    let given = Given::Prefix(280);
    let gz = Gzip::default();
    let bytes = small_model();
    let src = lmc::Int8Source::new(&bytes).unwrap();
    let mut work = src.new_work().unwrap();
    let mut model = ModelSampler::new("small".into(), src.model(&mut work).unwrap());
    let mut gzip = CompressorSampler::new(&gz);
    let samplers: [&mut dyn Sampler; 2] = [&mut gzip, &mut model];
    for s in samplers {
        let a = generate::generate(s, real, given, 1, &|_| {}).unwrap();
        let b = generate::generate(s, real, given, 1, &|_| {}).unwrap();
        let c = generate::generate(s, real, given, 2, &|_| {}).unwrap();
        assert_eq!(a.len(), real.len());
        assert_eq!(a[..280], real[..280], "given bytes kept");
        assert_eq!(a, b, "{}: same seed, same bytes", s.name());
        assert_ne!(
            a[280..],
            c[280..],
            "{}: another seed, other bytes",
            s.name()
        );
        assert_eq!(generate::sampled_part(&a, given).len(), 20);
    }
}

#[test]
fn image_rows_and_wav_header() {
    let g = Given::RowHalves {
        width: data::PATCH_COLS,
        given: data::PATCH_COLS / 2,
    };
    assert!(g.is_given(0) && g.is_given(31) && !g.is_given(32) && g.is_given(64));
    let patch: Vec<u8> = (0..CHUNK).map(|i| i as u8).collect();
    let s = generate::sampled_part(&patch, g);
    assert_eq!(s.len(), CHUNK / 2);
    assert_eq!(&s[..2], &[32, 33]);
    assert_eq!(s[32], 96);
    let w = generate::wav_u8(&[128, 255, 0], 16_000);
    assert_eq!(w.len(), 44 + 3);
    assert_eq!(&w[..4], b"RIFF");
    assert_eq!(u32::from_le_bytes(w[4..8].try_into().unwrap()), 36 + 3);
    assert_eq!(&w[8..16], b"WAVEfmt ");
    assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16_000);
    assert_eq!(u16::from_le_bytes(w[34..36].try_into().unwrap()), 8);
    assert_eq!(&w[36..40], b"data");
    assert_eq!(&w[44..], &[128, 255, 0]);
}

fn rates() -> Vec<figure2::ModelRate> {
    [(230_016u64, 334_344u64, 0.27), (853_248, 1_052_488, 0.224)]
        .iter()
        .map(|&(p, f, r)| figure2::ModelRate {
            name: format!("m{p}"),
            parameters: p,
            file_bytes: f,
            raw_rate: r,
            eval_bytes: 552_960,
            source: "test".into(),
        })
        .collect()
}

#[test]
fn figure2_adjusted_rate_falls_with_data_size() {
    let models = rates();
    let pts = figure2::points(&models, &figure2::DATA_SIZES);
    // Models x conventions x sizes.
    assert_eq!(pts.len(), 2 * 2 * 3);
    for m in &models {
        for conv in [
            figure2::Convention::TwoBytesPerParam,
            figure2::Convention::Int8File,
        ] {
            let row: Vec<&figure2::Point> = pts
                .iter()
                .filter(|p| p.model == m.name && p.convention == conv)
                .collect();
            assert_eq!(row.len(), 3);
            for w in row.windows(2) {
                assert!(w[0].data_bytes < w[1].data_bytes);
                assert!(w[0].adjusted_rate > w[1].adjusted_rate, "{conv:?}");
            }
            assert!(row
                .iter()
                .all(|p| p.adjusted_rate > p.raw_rate && p.extrapolated));
        }
    }
    // 2 B/param: 0.27 + 2 * 230016 / 1e7.
    assert!((pts[0].adjusted_rate - (0.27 + 0.0460032)).abs() < 1e-12);
    // The bigger model only pays at the bigger size: at 10^7 the 200K
    // wins, at 10^9 the 800K.
    let at = |name: &str, d: f64| {
        pts.iter()
            .find(|p| {
                p.model == name
                    && p.data_bytes == d
                    && p.convention == figure2::Convention::TwoBytesPerParam
            })
            .unwrap()
            .adjusted_rate
    };
    assert!(at("m230016", 1e7) < at("m853248", 1e7));
    assert!(at("m230016", 1e9) > at("m853248", 1e9));

    let f = figure2::Figure2 {
        meta: host_bench::meta::Meta::now(),
        command: "test".into(),
        legend: figure2::legend(&models),
        points: pts,
        models,
    };
    let csv = figure2::csv(&f.points);
    assert_eq!(csv.lines().count(), 1 + 12);
    let dir = scratch("figure2");
    figure2::write_all(&f, &dir).unwrap();
    for name in ["figure2.json", "figure2.csv", "figure2.png", "figure2.svg"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn figure2_reads_table1_json() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/table1-quick/table1.json");
    let Ok(json) = std::fs::read_to_string(&p) else {
        eprintln!("skipping: {} not present", p.display());
        return;
    };
    let r = figure2::rates_from_table1(&json, "quick").unwrap();
    assert!(!r.is_empty());
    for m in &r {
        assert!(m.raw_rate > 0.05 && m.raw_rate < 1.0, "{}", m.raw_rate);
        assert!(m.parameters > 0 && m.file_bytes > 0 && m.eval_bytes > 0);
    }
    assert!(figure2::rates_from_table1("{}", "empty").is_err());
}
