//! Lockstep coding gives every chunk exactly the bytes it gets alone,
//! whatever the batch, decodes back, and reports errors per lane.

use coder_core::lockstep::{run, Decode, Encode, Metered, Step, MAX_LANES};
use coder_core::mix::{max_coded_len, DecodeEither, DecodeWith, EncodeEither, EncodeWith};
use coder_core::models::{ContextConfig, ContextModel, Primed};
use coder_core::{
    decode_to_vec, encode_to_vec, max_encoded_len, Error, Lane, Lanes, Meter, MixConfig, Mixer,
};

type Ctx = ContextModel<Vec<u32>>;

const BATCHES: [usize; 4] = [1, 2, 7, 16];

fn cfg() -> ContextConfig {
    ContextConfig::order2_bytes(10)
}

fn mix_cfg() -> MixConfig {
    MixConfig::host().fit_to(4096)
}

fn models(n: usize) -> Vec<Ctx> {
    (0..n).map(|_| ContextModel::new(cfg()).unwrap()).collect()
}

fn mixers(n: usize) -> Vec<Mixer<Vec<u8>>> {
    (0..n).map(|_| Mixer::new(mix_cfg()).unwrap()).collect()
}

/// Pseudo-text chunks of unequal lengths (one empty, one of a byte).
fn chunks() -> Vec<Vec<u8>> {
    let words = [
        "the ", "cat ", "sat ", "on ", "a ", "mat", ", ", "and ", "then ", "ran. ", "\n",
    ];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..37)
        .map(|i| {
            let len = match i {
                3 => 0,
                5 => 1,
                _ => (next() % 900) as usize,
            };
            let mut c = Vec::new();
            while c.len() < len {
                c.extend_from_slice(words[(next() % words.len() as u64) as usize].as_bytes());
            }
            c.truncate(len);
            c
        })
        .collect()
}

/// Runs `codings` (at most `lanes.len()`) in lockstep and returns every
/// lane's result, in lane order.
fn lockstep<S: Step>(
    models: &mut [Ctx],
    codings: impl IntoIterator<Item = S>,
) -> Vec<Result<S::Output, Error>> {
    let mut results: Vec<Option<Result<S::Output, Error>>> =
        (0..models.len()).map(|_| None).collect();
    run(&mut Lanes(models), codings, |lane, r| {
        assert!(results[lane].is_none(), "lane {lane} done twice");
        results[lane] = Some(r);
    })
    .unwrap();
    results.into_iter().flatten().collect()
}

#[test]
fn model_alone_is_the_same_in_any_batch_and_decodes() {
    let chunks = chunks();
    let single: Vec<(Vec<u8>, f64)> = chunks
        .iter()
        .map(|c| {
            let mut m = Meter::new(ContextModel::new(cfg()).unwrap());
            (encode_to_vec(&mut m, c).unwrap(), m.bits())
        })
        .collect();
    for b in BATCHES {
        let mut lanes = models(b);
        for (group, expect) in chunks.chunks(b).zip(single.chunks(b)) {
            let mut outs: Vec<Vec<u8>> = group
                .iter()
                .map(|c| vec![0; max_encoded_len(c.len(), 16)])
                .collect();
            let codings = group
                .iter()
                .zip(&mut outs)
                .map(|(c, o)| Metered::new(Encode::new(c, o)));
            let got = lockstep(&mut lanes, codings);
            assert_eq!(got.len(), group.len());
            let mut codes = Vec::new();
            for ((r, out), (code, bits)) in got.into_iter().zip(&outs).zip(expect) {
                let (n, b2) = r.unwrap();
                assert_eq!(&out[..n], &code[..], "batch {b}");
                assert_eq!(b2, *bits, "batch {b}: metered bits");
                codes.push(&out[..n]);
            }
            let mut backs: Vec<Vec<u8>> = group.iter().map(|c| vec![0; c.len()]).collect();
            let codings = codes
                .iter()
                .zip(&mut backs)
                .map(|(code, back)| Decode::new(code, back));
            for r in lockstep(&mut lanes, codings) {
                r.unwrap();
            }
            assert_eq!(backs, group, "batch {b}");
        }
    }
}

#[test]
fn mixed_is_the_same_in_any_batch_and_decodes() {
    let chunks = chunks();
    let mut mx = Mixer::new(mix_cfg()).unwrap();
    let mut model = ContextModel::new(cfg()).unwrap();
    let single: Vec<Vec<u8>> = chunks
        .iter()
        .map(|c| {
            let mut out = vec![0; max_coded_len(c.len())];
            let n = mx.encode_chunk_with(&mut model, c, &mut out).unwrap();
            out.truncate(n);
            out
        })
        .collect();
    for b in BATCHES {
        let (mut lanes, mut mxs) = (models(b), mixers(b));
        for (group, expect) in chunks.chunks(b).zip(single.chunks(b)) {
            let mut outs: Vec<Vec<u8>> = group
                .iter()
                .map(|c| vec![0; max_coded_len(c.len())])
                .collect();
            let codings = mxs
                .iter_mut()
                .zip(group)
                .zip(&mut outs)
                .map(|((m, c), o)| EncodeWith::new(m, c, o));
            let got = lockstep(&mut lanes, codings);
            for ((r, out), code) in got.into_iter().zip(&outs).zip(expect) {
                assert_eq!(&out[..r.unwrap()], &code[..], "batch {b}");
            }
            let mut backs: Vec<Vec<u8>> = group.iter().map(|c| vec![0; c.len()]).collect();
            let codings = mxs
                .iter_mut()
                .zip(expect)
                .zip(&mut backs)
                .map(|((m, code), back)| DecodeWith::new(m, code, back));
            for r in lockstep(&mut lanes, codings) {
                r.unwrap();
            }
            assert_eq!(backs, group, "batch {b}");
        }
    }
}

/// `encode_chunk_either` of each chunk alone: code and cost.
fn either_single(
    chunks: &[Vec<u8>],
    cap: impl Fn(usize) -> usize,
) -> Vec<Result<(Vec<u8>, u64), Error>> {
    let mut mx = Mixer::new(mix_cfg()).unwrap();
    let mut model = ContextModel::new(cfg()).unwrap();
    chunks
        .iter()
        .map(|c| {
            let (mut out, mut scratch) = (vec![0; cap(c.len())], vec![0; cap(c.len())]);
            let n = mx.encode_chunk_either(&mut model, c, &mut out, &mut scratch)?;
            out.truncate(n);
            Ok((out, mx.cost_q16()))
        })
        .collect()
}

#[test]
fn either_is_the_same_in_any_batch_and_decodes() {
    let chunks = chunks();
    // Roomy buffers, and buffers so tight that some chunks give up one
    // coding or both (per lane, as alone).
    let tight: fn(usize) -> usize = |n| n * 3 / 8;
    for cap in [max_coded_len, tight] {
        let single = either_single(&chunks, cap);
        assert!(single.iter().any(|r| r.is_err()) == (cap(800) < 800));
        for b in BATCHES {
            let (mut lanes, mut mxs) = (models(b), mixers(b));
            for (group, expect) in chunks.chunks(b).zip(single.chunks(b)) {
                let mut outs: Vec<(Vec<u8>, Vec<u8>)> = group
                    .iter()
                    .map(|c| (vec![0; cap(c.len())], vec![0; cap(c.len())]))
                    .collect();
                let codings = mxs
                    .iter_mut()
                    .zip(group)
                    .zip(&mut outs)
                    .map(|((m, c), (o, s))| EncodeEither::new(m, c, o, s));
                let got = lockstep(&mut lanes, codings);
                for (((r, (out, _)), e), m) in got.into_iter().zip(&outs).zip(expect).zip(&mxs) {
                    match (r, e) {
                        (Ok(n), Ok((code, cost))) => {
                            assert_eq!(&out[..n], &code[..], "batch {b}");
                            assert_eq!(m.cost_q16(), *cost, "batch {b}: cost");
                        }
                        (r, e) => assert_eq!(r.err(), e.as_ref().err().copied(), "batch {b}"),
                    }
                }
                let codes: Vec<&[u8]> = expect
                    .iter()
                    .map(|e| e.as_ref().map_or(&[][..], |(c, _)| &c[..]))
                    .collect();
                let mut backs: Vec<Vec<u8>> = group.iter().map(|c| vec![0; c.len()]).collect();
                let codings = mxs
                    .iter_mut()
                    .zip(&codes)
                    .zip(&mut backs)
                    .map(|((m, code), back)| DecodeEither::new(m, code, back));
                let got = lockstep(&mut lanes, codings);
                for (((r, e), back), c) in got.into_iter().zip(expect).zip(&backs).zip(group) {
                    if e.is_ok() {
                        r.unwrap();
                        assert_eq!(back, c, "batch {b}");
                    }
                }
            }
        }
    }
}

#[test]
fn errors_stay_in_their_lane() {
    let chunks: Vec<Vec<u8>> = chunks()
        .into_iter()
        .filter(|c| c.len() > 100)
        .take(5)
        .collect();
    let codes: Vec<Vec<u8>> = chunks
        .iter()
        .map(|c| encode_to_vec(&mut ContextModel::new(cfg()).unwrap(), c).unwrap())
        .collect();
    let mut lanes = models(5);
    // Lane 1 gets too little room, lane 3 none at all.
    let mut outs: Vec<Vec<u8>> = codes.iter().map(|c| vec![0; c.len() + 8]).collect();
    outs[1].truncate(codes[1].len() / 2);
    outs[3].clear();
    let codings = chunks.iter().zip(&mut outs).map(|(c, o)| Encode::new(c, o));
    let got = lockstep(&mut lanes, codings);
    for (i, r) in got.iter().enumerate() {
        match i {
            1 | 3 => assert_eq!(*r, Err(Error::OutputFull), "lane {i}"),
            _ => assert_eq!(&outs[i][..*r.as_ref().unwrap()], &codes[i][..], "lane {i}"),
        }
    }
    // Lane 0 is damaged, lane 2 cut short, lane 4 padded.
    let mut bad = codes.clone();
    let mid = codes[0].len() / 2;
    bad[0][mid] ^= 0x5A;
    bad[2].truncate(codes[2].len() - 3);
    bad[4].push(0);
    let mut backs: Vec<Vec<u8>> = chunks.iter().map(|c| vec![0; c.len()]).collect();
    let codings = bad.iter().zip(&mut backs).map(|(c, b)| Decode::new(c, b));
    let got = lockstep(&mut lanes, codings);
    for (i, r) in got.iter().enumerate() {
        match i {
            0 | 2 | 4 => assert_eq!(*r, Err(Error::Corrupt), "lane {i}"),
            _ => {
                assert_eq!(*r, Ok(()), "lane {i}");
                assert_eq!(backs[i], chunks[i]);
            }
        }
    }
    // The mixer's codings too: a model of the wrong alphabet is refused
    // at the start, in every lane, and damage stays in its lane.
    let mut mxs = mixers(2);
    let mut small: Vec<_> = (0..2)
        .map(|_| {
            let c = ContextConfig {
                symbols: 16,
                ..ContextConfig::order0_bytes()
            };
            ContextModel::new(c).unwrap()
        })
        .collect();
    let mut out = [vec![0u8; 64], vec![0u8; 64]];
    let codings = mxs
        .iter_mut()
        .zip(&mut out)
        .map(|(m, o)| EncodeWith::new(m, b"abc", o));
    let mut errs = Vec::new();
    run(&mut Lanes(&mut small), codings, |i, r| errs.push((i, r))).unwrap();
    errs.sort_by_key(|e| e.0);
    assert_eq!(
        errs,
        [(0, Err(Error::BadAlphabet)), (1, Err(Error::BadAlphabet))]
    );
    let mut backs: Vec<Vec<u8>> = chunks[..2].iter().map(|c| vec![0; c.len()]).collect();
    let mut either: Vec<Vec<u8>> = Vec::new();
    for c in &chunks[..2] {
        let (mut o, mut s) = (
            vec![0; max_coded_len(c.len())],
            vec![0; max_coded_len(c.len())],
        );
        let mut m = ContextModel::new(cfg()).unwrap();
        let n = mxs[0]
            .encode_chunk_either(&mut m, c, &mut o, &mut s)
            .unwrap();
        o.truncate(n);
        either.push(o);
    }
    let mid = either[1].len() / 2;
    either[1][mid] ^= 0x33;
    let codings = mxs
        .iter_mut()
        .zip(&either)
        .zip(&mut backs)
        .map(|((m, c), b)| DecodeEither::new(m, c, b));
    let got = lockstep(&mut lanes[..2], codings);
    assert_eq!(got[0], Ok(()));
    assert_eq!(backs[0], chunks[0]);
    assert_eq!(got[1], Err(Error::Corrupt));
}

#[test]
fn more_codings_than_lanes_are_refused() {
    let mut lanes = models(2);
    let chunks = chunks();
    let mut outs = vec![vec![0u8; 4096]; 3];
    let codings = chunks.iter().zip(&mut outs).map(|(c, o)| Encode::new(c, o));
    let mut called = false;
    let r = run(&mut Lanes(&mut lanes), codings, |_, _| called = true);
    assert_eq!(r, Err(Error::BadConfig));
    assert!(!called);
    const { assert!(MAX_LANES >= 16) };
}

#[test]
fn a_primed_lane_codes_as_a_primed_model() {
    // Priming through `Lane` (correct whether or not the batch is real):
    // a lane reset and shown a context codes as `Primed` does alone.
    let chunks = chunks();
    let context = &chunks[0][..200];
    let text = &chunks[1];
    let alone = encode_to_vec(
        &mut Primed::new(ContextModel::new(cfg()).unwrap(), context),
        &text[..],
    )
    .unwrap();
    let mut lanes = models(3);
    let mut batch = Lanes(&mut lanes);
    let mut lane = Primed::new(Lane::new(&mut batch, 2), context);
    let code = encode_to_vec(&mut lane, &text[..]).unwrap();
    assert_eq!(code, alone);
    let back: Vec<u8> = decode_to_vec(&mut lane, &code, text.len()).unwrap();
    assert_eq!(&back, text);
}
