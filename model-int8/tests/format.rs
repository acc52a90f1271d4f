//! Malformed model files give the right typed error and never panic.

mod common;

use model_int8::format::{fnv1a64, CHECKSUM_LEN, HEADER_LEN};
use model_int8::{Config, Error, FloatModel, ModelFile};

fn model() -> Vec<u8> {
    common::small_model(Config::sized(16, 1, 2, 16, 32), 3).1
}

/// Recomputes the trailing checksum after an edit, so the check under test
/// is the one that fires.
fn reseal(b: &mut [u8]) {
    let n = b.len() - CHECKSUM_LEN;
    let sum = fnv1a64(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
}

fn set_u32(b: &mut [u8], at: usize, x: u32) {
    b[at..at + 4].copy_from_slice(&x.to_le_bytes());
}

#[test]
fn valid_file_parses() {
    let b = model();
    let f = ModelFile::parse(&b).unwrap();
    assert_eq!(*f.config(), Config::sized(16, 1, 2, 16, 32));
    assert_eq!(f.precision(), 16);
    assert_eq!(f.fingerprint(), fnv1a64(&b[..b.len() - 8]));
}

#[test]
fn truncated_files() {
    let b = model();
    for n in [
        0,
        3,
        4,
        40,
        HEADER_LEN,
        HEADER_LEN + 8,
        b.len() / 2,
        b.len() - 1,
    ] {
        assert_eq!(
            ModelFile::parse(&b[..n]).err(),
            Some(Error::Truncated),
            "len {n}"
        );
    }
}

#[test]
fn bad_magic_and_version() {
    let mut b = model();
    b[0] = b'X';
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadMagic));
    assert_eq!(
        ModelFile::parse(
            b"hello world, not a model at all, padded out to length 80 bytes.........."
        )
        .err(),
        Some(Error::BadMagic)
    );
    let mut b = model();
    set_u32(&mut b, 4, 2);
    assert_eq!(
        ModelFile::parse(&b).err(),
        Some(Error::UnsupportedVersion(2))
    );
}

#[test]
fn wrong_length_and_checksum() {
    let mut b = model();
    b.extend_from_slice(&[0; 32]);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadLength));
    let mut b = model();
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::ChecksumMismatch));
}

#[test]
fn inconsistent_config_and_shapes() {
    // d_model not divisible by n_heads.
    let mut b = model();
    set_u32(&mut b, 28, 3);
    reseal(&mut b);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadConfig));
    // More layers than tensors.
    let mut b = model();
    set_u32(&mut b, 24, 2);
    reseal(&mut b);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadTensorCount));
    // Wider model than its tensors.
    let mut b = model();
    set_u32(&mut b, 20, 32);
    reseal(&mut b);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadTensorShape(1)));
    // A tensor's row count.
    let mut b = model();
    set_u32(&mut b, HEADER_LEN + 24 * 5 + 4, 7);
    reseal(&mut b);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadTensorShape(5)));
    // A misaligned / overlapping tensor.
    let mut b = model();
    let at = HEADER_LEN + 24 * 6 + 12;
    let off = u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    set_u32(&mut b, at, off + 1);
    reseal(&mut b);
    assert_eq!(
        ModelFile::parse(&b).err(),
        Some(Error::BadTensorPlacement(6))
    );
    set_u32(&mut b, at, 64);
    reseal(&mut b);
    assert_eq!(
        ModelFile::parse(&b).err(),
        Some(Error::BadTensorPlacement(6))
    );
}

#[test]
fn out_of_range_constants() {
    // First exp table entry must be 2^30.
    let mut b = model();
    let f = ModelFile::parse(&b).unwrap();
    let exp_off = f.tensor(0).as_ptr() as usize - b.as_ptr() as usize;
    set_u32(&mut b, exp_off, 5);
    reseal(&mut b);
    assert_eq!(ModelFile::parse(&b).err(), Some(Error::BadConstant(0)));
    // A requantization shift of 40 in the first layer's wq table.
    let mut b = model();
    let f = ModelFile::parse(&b).unwrap();
    let idx = model_int8::format::layer_tensor(0, model_int8::format::slot::WQ_RQ);
    let off = f.tensor(idx).as_ptr() as usize - b.as_ptr() as usize;
    set_u32(&mut b, off + 8, 40);
    reseal(&mut b);
    assert_eq!(
        ModelFile::parse(&b).err(),
        Some(Error::BadConstant(idx as u16))
    );
}

#[test]
fn every_flipped_byte_is_rejected_without_panic() {
    let b = model();
    // A flip anywhere is caught (by the checksum at the latest).
    for i in (0..b.len()).step_by(7) {
        let mut c = b.clone();
        c[i] ^= 0x01;
        assert!(ModelFile::parse(&c).is_err(), "flip at {i}");
    }
    // With the checksum fixed up, parsing still never panics and any
    // accepted file still runs.
    for i in 0..b.len() - CHECKSUM_LEN {
        for x in [0x01u8, 0x80] {
            let mut c = b.clone();
            c[i] ^= x;
            reseal(&mut c);
            if let Ok(f) = ModelFile::parse(&c) {
                run_a_little(&f);
            }
        }
    }
}

fn run_a_little(f: &ModelFile<'_>) {
    use coder_core::Model;
    let mut work = vec![0u8; model_int8::working_memory_size(f.config())];
    let mut m = model_int8::Int8Model::new(f, &mut work).unwrap();
    for &b in &common::TEXT[..4] {
        let t = m.frequencies();
        assert_eq!(t.symbols(), 256);
        m.observe(b as usize);
    }
}

#[test]
fn errors_display() {
    for e in [
        Error::Truncated,
        Error::BadMagic,
        Error::UnsupportedVersion(9),
        Error::BadTensorShape(3),
        Error::WorkBufferTooSmall,
    ] {
        assert!(!format!("{e}").is_empty());
    }
}

#[test]
fn float_checkpoint_round_trip() {
    for norm in [model_int8::Norm::Rms, model_int8::Norm::Layer] {
        let cfg = Config {
            norm,
            ..Config::sized(16, 2, 2, 8, 32)
        };
        let m = FloatModel::random(cfg, 11);
        let bytes = m.to_bytes();
        assert_eq!(FloatModel::from_bytes(&bytes).unwrap(), m);
        assert!(FloatModel::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        bad[0] = b'X';
        assert!(FloatModel::from_bytes(&bad).is_err());
    }
}

#[test]
fn work_buffer_too_small() {
    let b = model();
    let f = ModelFile::parse(&b).unwrap();
    let need = model_int8::working_memory_size(f.config());
    let mut work = vec![0u8; need - 1];
    assert!(matches!(
        model_int8::Int8Model::new(&f, &mut work),
        Err(Error::WorkBufferTooSmall)
    ));
    // Any alignment of an exactly sized buffer works.
    let mut work = vec![0u8; need + 31];
    for skip in 0..32 {
        assert!(model_int8::Int8Model::new(&f, &mut work[skip..skip + need]).is_ok());
    }
}

/// Writes the fuzz seed `fuzz/seeds/load/tiny.lmi8` (a model file plus the
/// fuzz target's control byte `0x01`) when `MODEL_INT8_BLESS` is set.
#[test]
fn tiny_fuzz_seed() {
    let b = common::small_model(
        model_int8::Config {
            vocab: 4,
            ..Config::sized(4, 1, 1, 2, 4)
        },
        1,
    )
    .1;
    assert!(ModelFile::parse(&b).is_ok());
    if std::env::var_os("MODEL_INT8_BLESS").is_some() {
        let mut seed = b.clone();
        seed.push(0x01);
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/load/tiny.lmi8"),
            &seed,
        )
        .unwrap();
    }
}
