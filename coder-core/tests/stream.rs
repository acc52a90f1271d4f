//! The streaming layer writes exactly the bytes of the in-memory
//! compressor, and its reader finds the same errors, naming the chunk.

use std::io::Cursor;

use coder_core::container::{compress_to_vec, Method, StreamReader, StreamWriter};
use coder_core::models::{ContextConfig, ContextModel};
use coder_core::{encode_to_vec, Error, Model};

fn model() -> ContextModel<Vec<u32>> {
    ContextModel::new(ContextConfig::order2_bytes(12)).unwrap()
}

fn text() -> Vec<u8> {
    let mut t = b"It was the best of times, it was the worst of times. ".repeat(12);
    // An incompressible middle, so some chunks are stored.
    let mut x = 7u32;
    t.extend((0..300).map(|_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    }));
    t.extend_from_slice(b"and the end.");
    t
}

fn write(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut m = model();
    let mut out = Cursor::new(vec![9u8; 3]);
    out.set_position(3);
    let mut w = StreamWriter::new(&mut out, m.fingerprint(), chunk as u32).unwrap();
    let mut stored = 0;
    for c in data.chunks(chunk) {
        let code = encode_to_vec(&mut m, c).unwrap();
        stored += u64::from(w.write_chunk(c, Some(&code)).unwrap() == Method::Stored);
    }
    let s = w.finish().unwrap();
    assert_eq!(s.stored, stored);
    assert_eq!(s.coded + s.stored, data.len().div_ceil(chunk) as u64);
    let bytes = out.into_inner();
    assert_eq!(&bytes[..3], [9, 9, 9]);
    assert_eq!(s.compressed_len, bytes.len() as u64 - 3);
    bytes[3..].to_vec()
}

#[test]
fn writer_matches_compress_to_vec() {
    let t = text();
    for chunk in [1, 16, 64, 100, 4096] {
        let streamed = write(&t, chunk);
        assert_eq!(
            streamed,
            compress_to_vec(&mut model(), &t, chunk).unwrap(),
            "{chunk}"
        );
    }
    assert_eq!(
        write(b"", 64),
        compress_to_vec(&mut model(), b"", 64).unwrap()
    );
}

#[test]
fn reader_yields_every_record_and_checks_the_end() {
    let t = text();
    let s = write(&t, 64);
    let mut m = model();
    let mut r = StreamReader::new(&s[..]).unwrap();
    r.header().check_model(&m).unwrap();
    let mut back = Vec::new();
    for rec in &mut r {
        let rec = rec.unwrap();
        assert_eq!(rec.offset, back.len() as u64);
        back.extend(rec.decode(&mut m).unwrap());
    }
    assert_eq!(back, t);
    assert_eq!(r.bytes_read(), s.len() as u64);

    let err = |bytes: &[u8]| -> (Error, u64) {
        let mut r = match StreamReader::new(bytes) {
            Ok(r) => r,
            Err(e) => return (Error::from_io(&e).unwrap(), 0),
        };
        loop {
            match r.next_record() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => return (Error::from_io(&e).unwrap(), r.index()),
            }
        }
    };
    let mut longer = s.clone();
    longer.push(0);
    let chunks = t.len().div_ceil(64) as u64;
    assert_eq!(err(&longer), (Error::TrailingData, chunks));
    assert_eq!(err(&s[..s.len() - 1]), (Error::Truncated, chunks - 1));
    assert_eq!(err(&s[..37]), (Error::Truncated, 0));
    assert_eq!(err(&s[..20]), (Error::Truncated, 0));
    assert_eq!(err(b""), (Error::NotAContainer, 0));
    let mut v3 = s.clone();
    v3[4] = 4;
    assert_eq!(err(&v3), (Error::UnsupportedVersion(4), 0));
    // The first record's tag claiming more than its chunk.
    let mut bad = s.clone();
    bad[36] = 0xFF;
    assert_eq!(err(&bad), (Error::Corrupt, 0));
}

#[test]
fn writer_refuses_misshapen_chunks() {
    let mut out = Cursor::new(Vec::new());
    let mut w = StreamWriter::new(&mut out, 1, 4).unwrap();
    let e = w.write_chunk(b"toolong", None).unwrap_err();
    assert_eq!(Error::from_io(&e), Some(Error::BadConfig));
    w.write_chunk(b"ab", None).unwrap();
    let e = w.write_chunk(b"cd", None).unwrap_err();
    assert_eq!(Error::from_io(&e), Some(Error::BadConfig));
    let e = StreamWriter::new(&mut out, 1, 0).unwrap_err();
    assert_eq!(Error::from_io(&e), Some(Error::BadConfig));
}
