//! The container: round trips, the chunk-level API, and one test per error.

mod common;
use coder_core::container::{
    compress_into, compress_to_vec, decode_chunk, decompress_into, decompress_to_vec, encode_chunk,
    max_compressed_len, max_record_len, ChunkReader, ChunkRecord, Coding, Header, Method, Mode,
    RecordHeader, HEADER_LEN, MAGIC, MAX_RECORD_HEADER_LEN,
};
use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{crc32, Crc32, Error, FreqTable, Model};
use common::cases;
use proptest::prelude::*;

fn order0() -> ContextModel<Vec<u32>> {
    ContextModel::new(ContextConfig::order0_bytes()).unwrap()
}

fn text(n: usize) -> Vec<u8> {
    let words = [
        "the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog. ",
    ];
    let mut x = 7u32;
    let mut d = Vec::new();
    while d.len() < n {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        d.extend_from_slice(words[(x >> 20) as usize % words.len()].as_bytes());
    }
    d.truncate(n);
    d
}

/// A stream of 3 chunks: two coded text chunks and one stored random one.
fn sample() -> (Vec<u8>, Vec<u8>) {
    let mut input = text(600);
    let mut x = 99u32;
    input.extend((0..200).map(|_| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 16) as u8
    }));
    let stream = compress_to_vec(&mut order0(), &input, 300).unwrap();
    (input, stream)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(200)))]

    #[test]
    fn round_trip(data in prop::collection::vec(any::<u8>(), 0..3000), chunk in 1usize..700, textish in any::<bool>()) {
        let data: Vec<u8> = if textish { text(data.len()) } else { data };
        let mut model = ContextModel::new(ContextConfig::order2_bytes(10)).unwrap();
        let stream = compress_to_vec(&mut model, &data, chunk).unwrap();
        prop_assert!(stream.len() <= max_compressed_len(data.len(), chunk));
        prop_assert_eq!(decompress_to_vec(&mut model, &stream).unwrap(), data.clone());
        let mut out = vec![0u8; data.len()];
        prop_assert_eq!(decompress_into(&mut model, &stream, &mut out), Ok(data.len()));
        prop_assert_eq!(out, data);
    }

    /// No damage to a stream is accepted, and none panics.
    #[test]
    fn damage_is_always_refused(at in any::<usize>(), flip in 1u8..=255) {
        let (input, mut stream) = sample();
        let i = at % stream.len();
        stream[i] ^= flip;
        let r = decompress_to_vec(&mut order0(), &stream);
        prop_assert!(r.is_err(), "byte {i} ^ {flip:#x} accepted");
        let _ = input;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), header in any::<bool>()) {
        let mut b = bytes.clone();
        if header {
            // A valid header for the model, so the records get parsed.
            let h = Header::new(order0().fingerprint(), 1 + (bytes.len() as u32 % 64), 300, 0).unwrap();
            let mut s = h.to_bytes().to_vec();
            s.extend_from_slice(&bytes);
            b = s;
        }
        let _ = decompress_to_vec(&mut order0(), &b);
        let mut out = [0u8; 512];
        let _ = decompress_into(&mut order0(), &b, &mut out);
    }
}

#[test]
fn incompressible_chunks_are_stored_and_text_is_coded() {
    let (input, stream) = sample();
    let reader = ChunkReader::new(&stream).unwrap();
    let methods: Vec<Method> = reader.map(|c| c.unwrap().record.method).collect();
    assert_eq!(methods, [Method::Coded, Method::Coded, Method::Stored]);
    assert!(stream.len() < input.len());
    assert_eq!(decompress_to_vec(&mut order0(), &stream).unwrap(), input);
}

#[test]
fn empty_input_is_a_bare_header() {
    let stream = compress_to_vec(&mut order0(), &[], 2048).unwrap();
    assert_eq!(stream.len(), HEADER_LEN);
    assert_eq!(decompress_to_vec(&mut order0(), &stream).unwrap(), b"");
}

#[test]
fn chunks_decode_independently_in_any_order() {
    let input = text(10_000);
    let mut model = ContextModel::new(ContextConfig::order2_bytes(10)).unwrap();
    let stream = compress_to_vec(&mut model, &input, 1024).unwrap();
    let reader = ChunkReader::new(&stream).unwrap();
    let header = *reader.header();
    header.check_model(&model).unwrap();
    let chunks: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(chunks.len() as u64, header.chunk_count());
    let mut out = vec![0u8; input.len()];
    // Last chunk first, each with a fresh clone of the model.
    for c in chunks.iter().rev() {
        let mut m = model.clone();
        let dst = &mut out[c.offset as usize..c.offset as usize + c.len];
        decode_chunk(&mut m, c.record, dst).unwrap();
    }
    assert_eq!(out, input);
    assert_eq!(crc32(&out), header.crc32);
}

/// The way a CLI streams: encode chunk by chunk into bounded buffers, then
/// read the header, each record header one byte at a time, then its payload.
#[test]
fn streaming_chunk_api() {
    let input = text(5000);
    let chunk_size = 777;
    let mut model = order0();
    let mut stream = vec![0u8; HEADER_LEN];
    let mut crc = Crc32::new();
    let mut buf = vec![0u8; max_record_len(chunk_size)];
    for chunk in input.chunks(chunk_size) {
        let n = encode_chunk(&mut model, chunk, &mut buf).unwrap();
        stream.extend_from_slice(&buf[..n]);
        crc.update(chunk);
    }
    let header = Header::new(
        model.fingerprint(),
        chunk_size as u32,
        input.len() as u64,
        crc.finish(),
    )
    .unwrap();
    header.write_to(&mut stream).unwrap();
    assert_eq!(
        stream,
        compress_to_vec(&mut model, &input, chunk_size).unwrap()
    );

    let mut r = std::io::Cursor::new(&stream);
    use std::io::Read;
    let mut hb = [0u8; HEADER_LEN];
    r.read_exact(&mut hb).unwrap();
    let h = Header::parse(&hb).unwrap();
    h.check_model(&model).unwrap();
    let mut out = Vec::new();
    for i in 0..h.chunk_count() {
        let mut tag = Vec::new();
        let rh = loop {
            let mut b = [0u8];
            r.read_exact(&mut b).unwrap();
            tag.push(b[0]);
            match RecordHeader::parse(&tag) {
                Ok((rh, n)) => {
                    assert_eq!(n, tag.len());
                    break rh;
                }
                Err(Error::Truncated) => assert!(tag.len() < MAX_RECORD_HEADER_LEN),
                Err(e) => panic!("{e}"),
            }
        };
        let len = h.chunk_len(i);
        rh.check(len).unwrap();
        let mut payload = vec![0u8; rh.payload_len];
        r.read_exact(&mut payload).unwrap();
        let mut dst = vec![0u8; len];
        decode_chunk(
            &mut model,
            ChunkRecord {
                method: rh.method,
                payload: &payload,
            },
            &mut dst,
        )
        .unwrap();
        out.extend_from_slice(&dst);
    }
    assert_eq!(out, input);
    assert_eq!(crc32(&out), h.crc32);
}

#[test]
fn every_truncation_is_truncated() {
    let (_, stream) = sample();
    for n in 0..stream.len() {
        assert_eq!(
            decompress_to_vec(&mut order0(), &stream[..n]),
            Err(Error::Truncated),
            "prefix of {n} bytes"
        );
    }
}

#[test]
fn bad_magic_is_not_a_container() {
    let (_, mut stream) = sample();
    stream[0] = b'P';
    assert_eq!(
        decompress_to_vec(&mut order0(), &stream),
        Err(Error::NotAContainer)
    );
    assert_eq!(
        decompress_to_vec(&mut order0(), b"PK\x03\x04"),
        Err(Error::NotAContainer)
    );
    assert_eq!(
        decompress_to_vec(&mut order0(), b"LMX"),
        Err(Error::NotAContainer)
    );
    assert_eq!(
        decompress_to_vec(&mut order0(), &MAGIC[..2]),
        Err(Error::Truncated)
    );
}

#[test]
fn other_versions_are_unsupported() {
    let (_, mut stream) = sample();
    for v in [0, 4, 255] {
        stream[4] = v;
        assert_eq!(
            decompress_to_vec(&mut order0(), &stream),
            Err(Error::UnsupportedVersion(v))
        );
        // Even a bare five bytes say so.
        assert_eq!(
            decompress_to_vec(&mut order0(), &stream[..5]),
            Err(Error::UnsupportedVersion(v))
        );
    }
}

/// A header of `coding`, its bytes re-checksummed after `edit`.
fn header_bytes(coding: Coding, edit: impl FnOnce(&mut [u8; HEADER_LEN])) -> [u8; HEADER_LEN] {
    let full = Header::new(7, 2048, 100, 0)
        .unwrap()
        .with_coding(coding)
        .unwrap()
        .to_bytes();
    let mut b = [0u8; HEADER_LEN];
    b.copy_from_slice(&full[..HEADER_LEN]);
    edit(&mut b);
    let check = crc32(&b[..32]);
    b[32..36].copy_from_slice(&check.to_le_bytes());
    b
}

#[test]
fn the_default_coding_is_written_as_version_1_and_the_others_as_version_2() {
    let plain = header_bytes(Coding::MODEL, |_| {});
    assert_eq!((plain[4], &plain[5..8]), (1, &[0u8, 0, 0][..]));
    assert_eq!(Header::parse(&plain).unwrap().coding, Coding::MODEL);
    let codings = [
        Coding {
            mode: Mode::Model,
            preset: 0,
            chained: true,
            region: None,
        },
        Coding {
            mode: Mode::Mixed,
            preset: 1,
            chained: false,
            region: None,
        },
        Coding {
            mode: Mode::Mixed,
            preset: 2,
            chained: true,
            region: None,
        },
        Coding {
            mode: Mode::Adaptive,
            preset: 1,
            chained: false,
            region: None,
        },
    ];
    for c in codings {
        let b = header_bytes(c, |_| {});
        assert_eq!(b[4], 2, "{c:?}");
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.coding, c);
        assert_eq!(h.version(), 2);
    }
}

#[test]
fn impossible_codings_are_refused() {
    let bad = [
        Coding {
            mode: Mode::Model,
            preset: 1,
            chained: false,
            region: None,
        },
        Coding {
            mode: Mode::Mixed,
            preset: 0,
            chained: false,
            region: None,
        },
        Coding {
            mode: Mode::Adaptive,
            preset: 1,
            chained: true,
            region: None,
        },
    ];
    for c in bad {
        assert_eq!(c.check(), Err(Error::BadConfig), "{c:?}");
        assert_eq!(
            Header::new(1, 1, 1, 0).unwrap().with_coding(c),
            Err(Error::BadConfig)
        );
    }
    // Well-checksummed headers that no writer produces.
    let mixed = Coding {
        mode: Mode::Mixed,
        preset: 1,
        chained: false,
        region: None,
    };
    for edit in [
        (|b: &mut [u8; HEADER_LEN]| b[4] = 1) as fn(&mut [u8; HEADER_LEN]),
        |b| b[5] = 3,
        |b| b[6] = 2,
        |b| b[7] = 0,
        |b| b[5..8].copy_from_slice(&[0, 0, 0]),
    ] {
        assert_eq!(
            Header::parse(&header_bytes(mixed, edit)),
            Err(Error::BadHeader)
        );
    }
}

#[test]
fn in_memory_decoding_refuses_other_codings() {
    let (_, stream) = sample();
    let h = Header::parse(&stream).unwrap();
    let mixed = h
        .with_coding(Coding {
            mode: Mode::Mixed,
            preset: 1,
            chained: false,
            region: None,
        })
        .unwrap();
    let mut s = stream.clone();
    s[..HEADER_LEN].copy_from_slice(&mixed.to_bytes()[..HEADER_LEN]);
    assert_eq!(
        decompress_to_vec(&mut order0(), &s),
        Err(Error::UnsupportedCoding)
    );
}

#[test]
fn damaged_header_is_bad_header() {
    let (_, stream) = sample();
    for i in 5..HEADER_LEN {
        let mut s = stream.clone();
        s[i] ^= 0x10;
        assert_eq!(
            decompress_to_vec(&mut order0(), &s),
            Err(Error::BadHeader),
            "byte {i}"
        );
    }
    // A well-formed checksum over impossible values is refused too.
    let mut b = Header::new(1, 1, 1, 0).unwrap().to_bytes();
    b[16..20].copy_from_slice(&0u32.to_le_bytes());
    let check = crc32(&b[..32]);
    b[32..36].copy_from_slice(&check.to_le_bytes());
    assert_eq!(Header::parse(&b), Err(Error::BadHeader));
    assert_eq!(Header::new(1, 0, 1, 0), Err(Error::BadConfig));
}

#[test]
fn another_model_is_refused_before_decoding() {
    let (_, mut stream) = sample();
    let other = StaticModel::new(FreqTable::<[u32; 257]>::uniform(16).unwrap());
    let mut other2 = other.clone();
    assert_eq!(
        decompress_to_vec(&mut other2, &stream),
        Err(Error::ModelMismatch)
    );
    // Same kind, other parameters.
    let mut cfg = ContextConfig::order0_bytes();
    cfg.max_rate = 6;
    let mut m = ContextModel::new(cfg).unwrap();
    assert_eq!(
        decompress_to_vec(&mut m, &stream),
        Err(Error::ModelMismatch)
    );
    // Refused before any chunk is looked at: destroy every record.
    for b in &mut stream[HEADER_LEN..] {
        *b = 0xFF;
    }
    assert_eq!(
        decompress_to_vec(&mut m, &stream),
        Err(Error::ModelMismatch)
    );
    let mut out = [0u8; 1000];
    assert_eq!(
        decompress_into(&mut m, &stream, &mut out),
        Err(Error::ModelMismatch)
    );
}

#[test]
fn wrong_crc_is_checksum_mismatch() {
    let (_, mut stream) = sample();
    let mut h = Header::parse(&stream).unwrap();
    h.crc32 ^= 1;
    h.write_to(&mut stream).unwrap();
    assert_eq!(
        decompress_to_vec(&mut order0(), &stream),
        Err(Error::ChecksumMismatch)
    );
    let mut out = [0u8; 800];
    assert_eq!(
        decompress_into(&mut order0(), &stream, &mut out),
        Err(Error::ChecksumMismatch)
    );
}

#[test]
fn corrupt_records_are_corrupt() {
    let (_, stream) = sample();
    let first = HEADER_LEN;
    let (rec, n) = ChunkRecord::parse(&stream[first..]).unwrap();
    assert_eq!(rec.method, Method::Coded);
    // Claiming to be stored with the coded payload's length.
    let mut s = stream.clone();
    s[first] &= !1;
    assert_eq!(decompress_to_vec(&mut order0(), &s), Err(Error::Corrupt));
    // A non-minimal tag.
    let mut s = stream[..first].to_vec();
    let mut tag = [0u8; 4];
    let k = RecordHeader {
        method: Method::Coded,
        payload_len: rec.payload.len(),
    }
    .write_to(&mut tag)
    .unwrap();
    tag[k - 1] |= 0x80;
    s.extend_from_slice(&tag[..k]);
    s.push(0);
    s.extend_from_slice(&stream[first + k..]);
    assert_eq!(decompress_to_vec(&mut order0(), &s), Err(Error::Corrupt));
    // An overlong tag.
    assert_eq!(
        RecordHeader::parse(&[0x80, 0x80, 0x80, 0x80, 0x01]),
        Err(Error::Corrupt)
    );
    // Garbage in a coded payload.
    let mut s = stream.clone();
    s[first + n - 1] ^= 0x5A;
    assert!(decompress_to_vec(&mut order0(), &s).is_err());
}

#[test]
fn trailing_bytes_are_trailing_data() {
    let (_, mut stream) = sample();
    stream.push(0);
    assert_eq!(
        decompress_to_vec(&mut order0(), &stream),
        Err(Error::TrailingData)
    );
    let mut out = [0u8; 800];
    assert_eq!(
        decompress_into(&mut order0(), &stream, &mut out),
        Err(Error::TrailingData)
    );
}

#[test]
fn small_buffers_are_output_full() {
    let (input, stream) = sample();
    let mut out = vec![0u8; input.len() - 1];
    assert_eq!(
        decompress_into(&mut order0(), &stream, &mut out),
        Err(Error::OutputFull)
    );
    let mut small = vec![0u8; stream.len() - 1];
    assert_eq!(
        compress_into(&mut order0(), &input, 300, &mut small),
        Err(Error::OutputFull)
    );
    let mut tiny = [0u8; 10];
    assert_eq!(
        compress_into(&mut order0(), &input, 300, &mut tiny),
        Err(Error::OutputFull)
    );
    assert_eq!(
        encode_chunk(&mut order0(), &input[600..], &mut tiny),
        Err(Error::OutputFull)
    );
    assert_eq!(
        compress_into(&mut order0(), &input, 0, &mut small),
        Err(Error::BadConfig)
    );
}

/// The design relies on structural checks catching most damage in the
/// chunk that holds it (no per-chunk checksum); measure that on 2048-byte
/// chunks of text, flipping every byte of every coded payload in turn.
#[test]
fn most_damage_is_caught_in_its_own_chunk() {
    let input = text(4096);
    let mut model = ContextModel::new(ContextConfig::order2_bytes(10)).unwrap();
    let stream = compress_to_vec(&mut model, &input, 2048).unwrap();
    let (mut corrupt, mut crc, mut other) = (0, 0, 0);
    for i in HEADER_LEN..stream.len() {
        for flip in [0x01u8, 0xFF] {
            let mut s = stream.clone();
            s[i] ^= flip;
            match decompress_to_vec(&mut model, &s) {
                Err(Error::Corrupt) => corrupt += 1,
                Err(Error::ChecksumMismatch) => crc += 1,
                Err(_) => other += 1,
                Ok(_) => panic!("damage at {i} accepted"),
            }
        }
    }
    let total = corrupt + crc + other;
    println!("{total} damaged streams: {corrupt} Corrupt, {crc} ChecksumMismatch, {other} other");
    assert!(corrupt * 100 >= total * 95, "{corrupt} of {total}");
}

#[test]
fn token_streams_are_a_version_2_coding_without_chain_or_preset() {
    let tokens = Coding {
        mode: Mode::Tokens,
        preset: 0,
        chained: false,
        region: None,
    };
    let h = Header::new(0xABCD, 2048, 10_000, 7)
        .unwrap()
        .with_coding(tokens)
        .unwrap();
    assert_eq!(h.version(), 2);
    let b = h.to_bytes();
    assert_eq!(&b[4..8], &[2, 3, 0, 0]);
    assert_eq!(Header::parse(&b), Ok(h));
    assert!(Mode::Tokens.uses_model() && !Mode::Tokens.mixes());
    for bad in [
        Coding {
            chained: true,
            ..tokens
        },
        Coding {
            preset: 1,
            ..tokens
        },
    ] {
        assert_eq!(bad.check(), Err(Error::BadConfig), "{bad:?}");
    }
    // A reader that decodes bytes refuses a token stream before decoding.
    let model = Coding::MODEL;
    assert_eq!(h.check_coding(model), Err(Error::UnsupportedCoding));
}
