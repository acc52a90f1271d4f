//! `host-bench choice` on a few chunks of the real data: the four inputs
//! are what they say, every lmc output decodes back, the default's blocks
//! each chose a model, and the speech block chose a model of speech when
//! one is shipped.

use clap::Parser;
use host_bench::choice::{self, ChoiceArgs};

mod common;

use common::{shared, SHARED};

#[test]
fn each_input_is_coded_by_every_way_and_the_blocks_say_what_they_chose() {
    if shared("imagenet").is_none() || shared("librispeech").is_none() {
        return;
    }
    let out = std::env::temp_dir().join(format!("host-bench-choice-test-{}", std::process::id()));
    let args = ChoiceArgs::try_parse_from([
        "choice".as_ref(),
        "--data".as_ref(),
        std::path::Path::new(SHARED).as_os_str(),
        "--kib".as_ref(),
        "2".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .unwrap();
    let r = choice::run(&args, "test".into()).unwrap();
    let md = choice::markdown(&r);
    eprintln!("{md}");
    let inputs = ["speech.raw", "patches.raw", "text.raw", "mixed.raw"];
    for (name, bytes) in inputs.iter().zip([2048u64, 2048, 2048, 6144]) {
        let rows: Vec<_> = r.rows.iter().filter(|row| row.input == *name).collect();
        assert!(rows.len() >= 4, "{name}: {rows:?}");
        for row in &rows {
            assert_eq!(row.bytes, bytes);
            assert!(row.verified);
        }
        let default = rows.iter().find(|row| row.compressor == "lmc").unwrap();
        assert!(default
            .blocks
            .as_deref()
            .is_some_and(|b| b.starts_with("1 ")));
    }
    let speech = r
        .rows
        .iter()
        .find(|row| row.input == "speech.raw" && row.compressor == "lmc");
    if r.models.iter().any(|m| m.starts_with("200K speech")) {
        assert_eq!(speech.unwrap().blocks.as_deref(), Some("1 200K speech"));
    }
    choice::write_all(&r, &out).unwrap();
    assert!(out.join("choice.json").is_file() && out.join("choice.md").is_file());
    std::fs::remove_dir_all(&out).ok();
}
