//! `table1 --shard I/N` and `merge`: the shards of a run, added, give the
//! table a single run writes, record for record (same chunks, same bytes),
//! for classical compressors (chunked and whole-stream) and an LM row with
//! its container; and merging refuses what does not add up.

use host_bench::baselines::{self, Compressor};
use host_bench::data::{self, Sample};
use host_bench::lm::LmModel;
use host_bench::meta::Meta;
use host_bench::table1::{self, Partial, Shard};
use model_int8::{Config, FloatModel, QuantOptions};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn enwik(n: usize) -> data::Chunks {
    data::load_enwik(
        format!("{SHARED}/enwik8/enwik8.head").as_ref(),
        data::ENWIK_EVAL_START,
        None,
        Sample::First(n),
    )
    .unwrap()
}

fn random_model() -> Vec<u8> {
    let float = FloatModel::random(Config::sized(32, 1, 2, 64, 2048), 7);
    let opts = QuantOptions {
        max_calibration_bytes: 2048,
        ..QuantOptions::default()
    };
    model_int8::quantize(&float, &enwik(1).data, &opts).unwrap()
}

/// The records as JSON: what the tables are written from.
fn records(t: &table1::Table1) -> String {
    serde_json::to_string(&t.records).unwrap()
}

#[test]
fn merged_shards_equal_one_run() {
    let datasets = vec![enwik(7), data::random_chunks(5, 3)];
    let compressors: Vec<Box<dyn Compressor>> = vec![
        Box::new(baselines::Gzip::default()),
        Box::new(baselines::Xz::paper()),
    ];
    let bytes = random_model();
    let lms = vec![LmModel::new("random".into(), &bytes).unwrap()];
    // The LM rows on an even sub-sample, so shards split the sample.
    let lm_sample = Sample::Even(5);
    let run = |shard| {
        table1::measure(
            &datasets,
            &compressors,
            &lms,
            true,
            lm_sample,
            shard,
            Meta::now(),
            &table1::quiet,
        )
        .unwrap()
    };
    let whole = run(Shard::WHOLE).table();
    let dir = tempfile::tempdir().unwrap();
    for n in [1u32, 2, 3, 7] {
        // Written and read back as `table1 --shard` and `merge` do, given
        // out of order.
        let parts: Vec<Partial> = (0..n)
            .rev()
            .map(|i| {
                let sub = dir.path().join(format!("{i}-of-{n}"));
                let p = run(Shard { index: i, count: n }).write(&sub).unwrap();
                Partial::read(&p).unwrap()
            })
            .collect();
        let merged = table1::merge(parts).unwrap();
        assert_eq!(records(&merged), records(&whole), "{n} shards");
        assert_eq!(
            host_bench::report::csv(&merged.records),
            host_bench::report::csv(&whole.records)
        );
    }
}

#[test]
fn shards_cover_each_data_set_once() {
    for n in [0usize, 1, 5, 7, 100, 270] {
        for count in 1..=9u32 {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.range(n);
                assert_eq!(r.start, next, "{n} chunks, {index}/{count}");
                next = r.end;
            }
            assert_eq!(next, n);
        }
    }
    assert_eq!(Shard::parse("2/4").unwrap(), Shard { index: 2, count: 4 });
    for bad in ["4/4", "1/0", "a/2", "3", "-1/2", ""] {
        assert!(Shard::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn merge_refuses_what_does_not_add_up() {
    let datasets = vec![data::random_chunks(4, 1)];
    let compressors: Vec<Box<dyn Compressor>> = vec![Box::new(baselines::Gzip::default())];
    let run = |index, count| {
        table1::measure(
            &datasets,
            &compressors,
            &[],
            true,
            Sample::All,
            Shard { index, count },
            Meta::now(),
            &table1::quiet,
        )
        .unwrap()
    };
    let err = |parts| table1::merge(parts).unwrap_err().to_string();
    assert!(err(vec![]).contains("no partial results"));
    assert!(
        err(vec![run(0, 3), run(1, 3)]).contains("2 of 3 shards"),
        "{}",
        err(vec![run(0, 3), run(1, 3)])
    );
    assert!(err(vec![run(0, 2), run(0, 2)]).contains("once each"));
    assert!(err(vec![run(0, 2), run(1, 3)]).contains("once each"));
    let mut other = run(1, 2);
    other.measured[0].compressor = "zstd -19".into();
    assert!(err(vec![run(0, 2), other]).contains("where shard 0 has"));
}
