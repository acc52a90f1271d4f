//! Table 2 on a small configuration: a byte row and a BPE row with small
//! random-weight models; every chunk decodes back byte for byte, and the
//! table has the paper's column beside ours.

use std::path::Path;

use host_bench::data::{self, Sample};
use host_bench::table2::{self, RowSpec, Table2};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn enwik8() -> Vec<u8> {
    std::fs::read(format!("{SHARED}/enwik8/enwik8.head")).unwrap()
}

#[test]
fn a_table2_row_decodes_back_byte_for_byte() {
    let dir = std::env::temp_dir().join(format!("table2-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = enwik8();
    let bpe = tokenize::Bpe::train(&[&text[..200_000]], 2000).unwrap();
    let tok_model = dir.join("table2-bpe2k.lmm");
    std::fs::write(
        &tok_model,
        lmc::tokens::tiny_random_token_model(2000, 3).unwrap(),
    )
    .unwrap();
    bpe.save(&lmc::tokens::tokenizer_beside(&tok_model))
        .unwrap();
    let byte_model = dir.join("table2-ascii.lmm");
    std::fs::write(&byte_model, lmc::models::tiny_random_model(4).unwrap()).unwrap();

    let chunks = data::load_enwik(
        format!("{SHARED}/enwik8/enwik8.head").as_ref(),
        data::ENWIK_EVAL_START,
        None,
        Sample::Even(3),
    )
    .unwrap();
    let specs = [
        RowSpec {
            name: table2::row_name(256),
            model: byte_model,
            tokenizer: None,
        },
        RowSpec {
            name: table2::row_name(bpe.vocab()),
            model: tok_model.clone(),
            tokenizer: Some(lmc::tokens::tokenizer_beside(&tok_model)),
        },
    ];
    let rows: Vec<_> = specs
        .iter()
        .map(|s| table2::measure_row(s, &chunks, &|_| {}).unwrap())
        .collect();
    for r in &rows {
        assert!(r.round_trip_ok, "{}", r.name);
        assert_eq!((r.chunks, r.bytes), (3, 3 * 2048));
        // A real code: the ideal length plus at most a few bytes a chunk.
        let ideal = r.ideal_rate * r.bytes as f64;
        assert!(
            r.coded_bytes as f64 >= ideal - 3.0 && r.coded_bytes as f64 <= ideal + 3.0 * 8.0,
            "{r:?}"
        );
        assert!(r.params_total > r.params_paper);
    }
    let (ascii, bpe_row) = (&rows[0], &rows[1]);
    assert_eq!(ascii.name, "ASCII");
    assert_eq!(ascii.paper_rate_pct, Some(22.9));
    assert_eq!(ascii.tokens, ascii.bytes);
    assert_eq!(bpe_row.name, "BPE 2K");
    assert_eq!(bpe_row.paper_rate_pct, Some(25.6));
    assert!(bpe_row.bytes_per_token > 2.0, "{}", bpe_row.bytes_per_token);
    // The embedding and output layers are what a vocabulary adds.
    let c = &bpe_row.config;
    assert_eq!(
        bpe_row.params_total - bpe_row.params_paper,
        u64::from(2 * c.vocab + 1) * u64::from(c.d_model)
    );
    assert_eq!(bpe_row.tokenizer_hash, Some(format!("{:016x}", bpe.hash())));

    let t = Table2 {
        meta: host_bench::meta::Meta::now(),
        command: "test".into(),
        budget: "none (random weights)".into(),
        rows,
    };
    let md = table2::markdown(&t);
    assert!(
        md.contains("| ASCII | 256 |") && md.contains("22.9%") && md.contains("25.6%"),
        "{md}"
    );
    table2::write_all(&t, &dir).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("table2.json")).unwrap()).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 2);

    // A model beside another vocabulary's tokenizer is refused.
    let other = tokenize::Bpe::train(&[&text[..50_000]], 500).unwrap();
    let wrong = dir.join("wrong.tokenizer.json");
    other.save(&wrong).unwrap();
    let e = table2::measure_row(
        &RowSpec {
            name: "BPE 500".into(),
            model: tok_model,
            tokenizer: Some(wrong),
        },
        &chunks,
        &|_| {},
    )
    .unwrap_err();
    assert!(e.to_string().contains("tokenizer has 500"), "{e}");
    std::fs::remove_dir_all(Path::new(&dir)).unwrap();
}
