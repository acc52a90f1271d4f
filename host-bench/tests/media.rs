//! `host-bench media` on one small photo and one short utterance of the
//! real data sets: lmc codes them as an image and as sound, decodes them
//! back, and beats a ceiling a plain-bytes coder would not reach.

use clap::Parser;
use host_bench::media::{self, Kind, MediaArgs};

mod common;

use common::shared;

#[test]
fn one_photo_and_one_utterance_round_trip_below_the_ceiling() {
    let (Some(photos), Some(speech)) = (shared("imagenet"), shared("librispeech/train-clean-100"))
    else {
        return;
    };
    let out = std::env::temp_dir().join(format!("host-bench-media-test-{}", std::process::id()));
    let args = MediaArgs::try_parse_from([
        "media".as_ref(),
        "--photos".as_ref(),
        photos.as_os_str(),
        "--speech".as_ref(),
        speech.as_os_str(),
        "--count".as_ref(),
        "1".as_ref(),
        "--crop".as_ref(),
        "64x48".as_ref(),
        "--max-samples".as_ref(),
        "8000".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .unwrap();
    assert!(!args.require_peers);
    let r = media::run(&args, "test".into()).unwrap();
    eprintln!("{}", media::markdown(&r));

    assert_eq!(r.files.len(), 3, "{:?}", r.files);
    for f in &r.files {
        let lmc = f.lmc().expect("an lmc entry");
        assert!(lmc.verified, "{f:?}");
        assert_eq!(lmc.as_media, Some(true), "not coded as media: {f:?}");
    }
    let rate = |k: Kind| {
        let f = r.files.iter().find(|f| f.kind == k).unwrap();
        f.lmc_rate().unwrap()
    };
    let grey = r.files.iter().find(|f| f.kind == Kind::Grey).unwrap();
    assert_eq!(grey.dims, (64, 48));
    assert_eq!(grey.bytes, 64 * 48 + b"P5\n64 48\n255\n".len() as u64);
    assert!(rate(Kind::Grey) < 0.7, "grey rate {}", rate(Kind::Grey));
    assert!(
        rate(Kind::Speech) < 0.7,
        "speech rate {}",
        rate(Kind::Speech)
    );

    // Totals: one row per compressor, the reference's ratio 1.
    assert_eq!(r.totals.len(), 3);
    for t in &r.totals {
        let lmc = t.rows.iter().find(|x| x.compressor == media::LMC).unwrap();
        assert_eq!(
            lmc.bytes,
            r.files
                .iter()
                .filter(|f| f.kind == t.kind)
                .map(|f| f.lmc().unwrap().bytes.unwrap())
                .sum::<u64>()
                .into()
        );
        if let Some(reference) = t
            .rows
            .iter()
            .find(|x| x.compressor == t.reference && x.bytes.is_some())
        {
            assert_eq!(reference.vs_reference, Some(1.0));
        }
    }
    let md = std::fs::read_to_string(out.join("media.md")).unwrap();
    assert!(md.contains(media::LMC), "{md}");
    let named = format!(
        "1 of {} JPEGs in `{}`",
        r.photos.available,
        photos.display()
    );
    assert!(md.contains(&named), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("media.json")).unwrap()).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 3);
    let _ = std::fs::remove_dir_all(&out);
}
