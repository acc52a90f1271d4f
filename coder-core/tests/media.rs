//! Media regions: PNM and WAV headers found (or refused with a reason),
//! the mixer's image and audio models round-tripping every layout on
//! random and adversarial data from any chunk offset, ratio ceilings on
//! synthetic images and sound, and the version 3 header.

use coder_core::container::{Coding, Header, Mode, HEADER_LEN, MAX_HEADER_LEN};
use coder_core::media::{sniff, Layout, Region, Sniffed};
use coder_core::mix::{max_coded_len, MixConfig, Mixer};
use coder_core::Error;
use proptest::prelude::*;

fn pgm(header: &str, pixels: &[u8]) -> Vec<u8> {
    let mut v = header.as_bytes().to_vec();
    v.extend_from_slice(pixels);
    v
}

fn wav(fmt_tag: u16, channels: u16, bits: u16, data: &[u8], data_size: Option<u32>) -> Vec<u8> {
    let align = channels * bits / 8;
    let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
    // A chunk lmc must skip, of odd length (padded).
    v.extend_from_slice(b"LIST\x03\0\0\0abc\0");
    v.extend_from_slice(b"fmt \x10\0\0\0");
    for x in [fmt_tag, channels] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(&16000u32.to_le_bytes());
    v.extend_from_slice(&(16000 * u32::from(align)).to_le_bytes());
    for x in [align, bits] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_size.unwrap_or(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn found(file: &[u8]) -> Sniffed {
    sniff(file, file.len() as u64)
}

#[test]
fn pnm_headers_with_comments_odd_sizes_and_maxvals() {
    let f = pgm(
        "P5 # comment\n#another\n 3\t2 # w h\n100\n",
        &[1, 2, 3, 4, 5, 6, 7],
    );
    let Sniffed::Media(r) = found(&f) else {
        panic!("{:?}", found(&f))
    };
    assert_eq!(
        r.layout,
        Layout::Image {
            width: 3,
            channels: 1
        }
    );
    assert_eq!((r.start as usize, r.len), (f.len() - 7, 6));
    // A file cut short: the region stops at its end.
    let f = pgm("P6\n4 4\n255\n", &[9; 10]);
    let Sniffed::Media(r) = found(&f) else {
        panic!()
    };
    assert_eq!(
        (r.layout, r.len),
        (
            Layout::Image {
                width: 4,
                channels: 3
            },
            10
        )
    );
    let f = pgm(
        "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n",
        &[1, 2, 3, 4],
    );
    let Sniffed::Media(r) = found(&f) else {
        panic!()
    };
    assert_eq!(
        (r.layout, r.len),
        (
            Layout::Image {
                width: 1,
                channels: 4
            },
            4
        )
    );
    assert!(
        matches!(found(&pgm("P5 2 2 1000\n", &[0; 8])), Sniffed::Unsupported(m) if m.contains("16-bit"))
    );
    for bad in [
        "P5 2 2",
        "P5 0 2 255\n",
        "P5 2 2 255",
        "P5 2 2 256x",
        "P5 x 2 255\n",
        "P7\nWIDTH 2\nENDHDR\n",
        "P5 99999999999 1 255\n",
    ] {
        assert_eq!(found(&pgm(bad, &[0; 4])), Sniffed::Other, "{bad}");
    }
    // The header alone, no pixel: nothing to model.
    assert_eq!(found(b"P5 1 1 255\n"), Sniffed::Other);
    assert_eq!(found(b"hello"), Sniffed::Other);
}

#[test]
fn wav_headers_pcm_8_and_16_bit_others_refused_with_a_reason() {
    let f = wav(1, 2, 16, &[0; 12], None);
    let Sniffed::Media(r) = found(&f) else {
        panic!()
    };
    assert_eq!(
        (r.layout, r.start as usize, r.len),
        (
            Layout::Audio {
                channels: 2,
                bytes: 2
            },
            f.len() - 12,
            12
        )
    );
    let f = wav(1, 1, 8, &[128; 5], Some(u32::MAX));
    let Sniffed::Media(r) = found(&f) else {
        panic!()
    };
    assert_eq!(
        (r.layout, r.len),
        (
            Layout::Audio {
                channels: 1,
                bytes: 1
            },
            5
        )
    );
    let f = wav(1, 1, 24, &[0; 6], None);
    assert!(matches!(found(&f), Sniffed::Unsupported(m) if m.contains("24")));
    assert!(matches!(
        found(&wav(3, 1, 32, &[0; 8], None)),
        Sniffed::Unsupported(_)
    ));
    // Cut inside the header: not a WAV file to us.
    let f = wav(1, 1, 16, &[0; 4], None);
    for n in [4, 12, 20, 30, 40] {
        assert_eq!(found(&f[..n]), Sniffed::Other, "{n}");
    }
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Codes `data` from chunk offset `at` with `region`, decodes it back,
/// returns the coded length.
fn round_trip(cfg: MixConfig, region: Option<Region>, at: u64, data: &[u8]) -> usize {
    let mut m = Mixer::new(cfg).unwrap();
    m.set_region(region, at);
    let mut out = vec![0; max_coded_len(data.len())];
    let n = m.encode_chunk(data, &mut out).unwrap();
    let mut fresh = Mixer::new(cfg).unwrap();
    fresh.set_region(region, at);
    let mut back = vec![0; data.len()];
    fresh.decode_chunk(&out[..n], &mut back).unwrap();
    assert_eq!(back, data);
    n
}

fn layouts() -> impl Strategy<Value = Layout> {
    prop_oneof![
        (1u32..40, 1u8..=4).prop_map(|(width, channels)| Layout::Image { width, channels }),
        (1u8..=8, 1u8..=2).prop_map(|(channels, bytes)| Layout::Audio { channels, bytes }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_layout_round_trips_from_any_offset(
        layout in layouts(),
        start in 0u64..50,
        len in 0u64..600,
        at in 0u64..100,
        data in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..700),
            proptest::collection::vec(prop_oneof![Just(0u8), Just(255u8), Just(128u8)], 0..700),
        ],
        which in 0u8..3,
    ) {
        let cfg = match which {
            0 => MixConfig::embedded(),
            1 => MixConfig::host().fit_to(1024),
            _ => MixConfig::host2().fit_to(1024),
        };
        round_trip(cfg, Some(Region { layout, start, len }), at, &data);
    }
}

#[test]
fn without_history_the_models_still_round_trip() {
    let cfg = MixConfig::embedded().with_history_bits(0);
    let region = Region {
        layout: Layout::Image {
            width: 7,
            channels: 3,
        },
        start: 0,
        len: 1000,
    };
    round_trip(cfg, Some(region), 0, &noise(900, 3));
}

/// A smooth synthetic photo: gradients and a soft disc, a little noise.
fn photo(w: usize, h: usize, ch: usize) -> Vec<u8> {
    let n = noise(w * h * ch, 7);
    let mut v = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as i32 - w as i32 / 2, y as i32 - h as i32 / 2);
            let disc = if dx * dx + dy * dy < (w * w / 16) as i32 {
                60
            } else {
                0
            };
            for c in 0..ch {
                let base = (x * 2 + y + 30 * c) as i32 / 3 + disc;
                v.push((base + i32::from(n[v.len()] % 5) - 2).clamp(0, 255) as u8);
            }
        }
    }
    v
}

/// A sum of two tones with a little noise, 16-bit little-endian.
fn tone(samples: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, r) in noise(samples, 11).into_iter().enumerate() {
        let t = i as f64 / 16000.0;
        let s = 8000.0 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
            + 3000.0 * (2.0 * std::f64::consts::PI * 1330.0 * t).sin()
            + f64::from(r % 16)
            - 8.0;
        v.extend_from_slice(&(s as i16).to_le_bytes());
    }
    v
}

#[test]
fn the_image_and_audio_models_beat_the_text_contexts_on_their_data() {
    for cfg in [MixConfig::host(), MixConfig::host2()] {
        media_beats_text(cfg.fit_to(1 << 16));
    }
}

fn media_beats_text(cfg: MixConfig) {
    for (data, layout, ceiling) in [
        (
            photo(128, 96, 1),
            Layout::Image {
                width: 128,
                channels: 1,
            },
            0.38,
        ),
        (
            photo(64, 64, 3),
            Layout::Image {
                width: 64,
                channels: 3,
            },
            0.41,
        ),
        (
            tone(16000),
            Layout::Audio {
                channels: 1,
                bytes: 2,
            },
            0.35,
        ),
    ] {
        let region = Region {
            layout,
            start: 0,
            len: data.len() as u64,
        };
        let plain = round_trip(cfg, None, 0, &data);
        let media = round_trip(cfg, Some(region), 0, &data);
        let rate = media as f64 / data.len() as f64;
        eprintln!(
            "{layout:?}: {rate:.3} media, {:.3} as text",
            plain as f64 / data.len() as f64
        );
        assert!(rate < ceiling, "{layout:?}: {rate:.3} (ceiling {ceiling})");
        assert!(
            (media as f64) < 0.93 * plain as f64,
            "{layout:?}: {media} vs {plain} as text"
        );
    }
}

#[test]
fn a_region_is_recorded_in_a_version_3_header_and_damage_is_caught() {
    let region = Region {
        layout: Layout::Audio {
            channels: 2,
            bytes: 2,
        },
        start: 44,
        len: 1000,
    };
    let coding = Coding {
        mode: Mode::Adaptive,
        preset: 1,
        chained: false,
        region: Some(region),
    };
    let h = Header::new(5, 4096, 1044, 9)
        .unwrap()
        .with_coding(coding)
        .unwrap();
    assert_eq!((h.version(), h.encoded_len()), (3, MAX_HEADER_LEN));
    let b = h.to_bytes();
    assert_eq!(Header::parse(&b).unwrap(), h);
    assert_eq!(Header::parse(&b[..HEADER_LEN + 10]), Err(Error::Truncated));
    for i in HEADER_LEN..MAX_HEADER_LEN {
        let mut d = b;
        d[i] ^= 0x10;
        assert_eq!(Header::parse(&d), Err(Error::BadHeader), "byte {i}");
    }
    // A region only with a mixer.
    let model = Coding {
        mode: Mode::Model,
        preset: 0,
        ..coding
    };
    assert_eq!(
        Header::new(5, 4096, 1, 9).unwrap().with_coding(model),
        Err(Error::BadConfig)
    );
    // Text codings are written exactly as before.
    let plain = Header::new(5, 4096, 1, 9).unwrap();
    assert_eq!((plain.version(), plain.encoded_len()), (1, HEADER_LEN));
}

#[test]
fn a_mixer_stays_small_enough_for_a_stack() {
    // Its tables live in the caller's storage; what it holds itself (the
    // audio predictors' state among it) must not overflow a thread's
    // stack when moved around in a debug build.
    let size = std::mem::size_of::<Mixer<Vec<u8>>>();
    eprintln!("Mixer: {size} bytes");
    assert!(size < 32 << 10, "{size} bytes");
}

/// The image and audio models pinned, under presets 1 and 3 (what `lmc`
/// writes): any change to their output needs a new
/// `media::MODELS_VERSION`, or old streams stop decoding.
#[test]
fn golden_media_output() {
    use coder_core::fnv1a64;
    let cases = [
        (
            photo(40, 30, 1),
            Layout::Image {
                width: 40,
                channels: 1,
            },
        ),
        (
            photo(24, 20, 3),
            Layout::Image {
                width: 24,
                channels: 3,
            },
        ),
        (
            tone(3000),
            Layout::Audio {
                channels: 1,
                bytes: 2,
            },
        ),
        (
            tone(3000),
            Layout::Audio {
                channels: 2,
                bytes: 2,
            },
        ),
        (
            tone(1500),
            Layout::Audio {
                channels: 3,
                bytes: 1,
            },
        ),
    ];
    let mut got = Vec::new();
    for cfg in [MixConfig::host(), MixConfig::host2()] {
        for (data, layout) in &cases {
            let cfg = cfg.fit_to(data.len());
            let region = Region {
                layout: *layout,
                start: 0,
                len: data.len() as u64,
            };
            let mut m = Mixer::new(cfg).unwrap();
            m.set_region(Some(region), 0);
            let mut out = vec![0; max_coded_len(data.len())];
            let n = m.encode_chunk(data, &mut out).unwrap();
            got.push((n, fnv1a64(&out[..n])));
        }
    }
    assert_eq!(got, GOLDEN_MEDIA);
}

const GOLDEN_MEDIA: [(usize, u64); 10] = [
    (581, 1374032525454921737),
    (691, 11199149060610544680),
    (1836, 8573925045991476859),
    (1943, 4383978166895107255),
    (2970, 7574050536261605477),
    (590, 3381028876957689767),
    (695, 8277455591847583776),
    (1851, 5572274798909949586),
    (1940, 7476952739395228054),
    (2965, 15707119918266240674),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// A stream that starts at `offset` sees every byte of the region it
    /// still holds in the same place of a period (channel, column, row
    /// modulo 8) as the whole file does, and nothing outside the region.
    #[test]
    fn a_stream_sees_the_region_in_the_same_places(
        layout in layouts(),
        start in 0u64..5000,
        len in 0u64..20_000,
        offset in 0u64..30_000,
    ) {
        let r = Region { layout, start, len };
        let p = r.period();
        match r.for_stream_at(offset) {
            None => prop_assert!(offset + p >= start + len || len == 0),
            Some(m) => {
                prop_assert!(m.start + m.len + offset == start + len);
                prop_assert!(m.start + offset >= start);
                prop_assert!(m.start < p.max(start.saturating_sub(offset) + 1));
                for j in [m.start, m.start + 1, m.start + m.len / 2, m.start + m.len - 1] {
                    if m.contains(j) {
                        prop_assert!(r.contains(offset + j));
                        prop_assert_eq!((offset + j - start) % p, (j - m.start) % p);
                    }
                }
            }
        }
    }
}

/// A stream that starts inside the region's last period but before its
/// first whole one holds nothing of it (found by the proptest above: the
/// length was computed before the check, and overflowed).
#[test]
fn a_stream_past_the_last_whole_period_holds_none_of_the_region() {
    let r = Region {
        layout: Layout::Image {
            width: 5,
            channels: 4,
        },
        start: 1540,
        len: 1591,
    };
    assert_eq!(r.for_stream_at(2981), None);
    assert_eq!(r.for_stream_at(3131), None);
    assert!(r.for_stream_at(2960).is_some());
}
