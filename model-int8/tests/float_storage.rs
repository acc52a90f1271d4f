//! Float checkpoints in `f32` (version 1) and binary16 (version 2): the
//! conversion, round trips, and files written before version 2 existed.

use model_int8::{f16_bits, f16_to_f32, Config, FloatModel, FloatStorage, Norm};

fn model(norm: Norm, seed: u64) -> FloatModel {
    let cfg = Config {
        norm,
        ..Config::sized(16, 2, 2, 8, 32)
    };
    FloatModel::random(cfg, seed)
}

#[test]
fn f16_conversion_of_known_values() {
    let p = |e: i32| 2f32.powi(e);
    for (x, bits) in [
        (0.0, 0x0000),
        (-0.0, 0x8000),
        (1.0, 0x3C00),
        (-2.0, 0xC000),
        (0.1, 0x2E66),
        (65504.0, 0x7BFF), // the largest finite binary16
        (65519.0, 0x7BFF), // below the halfway point to 65536
        (65520.0, 0x7C00), // the tie rounds to even: infinity
        (f32::INFINITY, 0x7C00),
        (f32::NEG_INFINITY, 0xFC00),
        (p(-14), 0x0400),                // the smallest normal
        (p(-24), 0x0001),                // the smallest subnormal
        (p(-25), 0x0000),                // tie between 0 and 2^-24: even is 0
        (1.5 * p(-25), 0x0001),          // above the tie
        (3.0 * p(-25), 0x0002),          // tie between 1 and 2 units: even is 2
        (1e-40, 0x0000),                 // an f32 subnormal
        (1.0 + p(-11), 0x3C00),          // tie between 1 and 1 + 2^-10: even is 1
        (1.0 + 3.0 * p(-11), 0x3C02),    // tie: even mantissa 2
        (1.0 + p(-11) + p(-20), 0x3C01), // just above the tie
        (-(1.0 + 3.0 * p(-11)), 0xBC02),
    ] {
        assert_eq!(f16_bits(x), bits, "{x:e}: {:#06x}", f16_bits(x));
        assert_eq!(FloatStorage::F16.round(x), f16_to_f32(bits), "{x:e}");
        assert_eq!(FloatStorage::F32.round(x).to_bits(), x.to_bits());
    }
    let nan = f16_bits(f32::NAN);
    assert!(nan & 0x7C00 == 0x7C00 && nan & 0x03FF != 0, "{nan:#06x}");
    assert!(f16_to_f32(nan).is_nan());
    assert!(FloatStorage::F16.round(-f32::NAN).is_nan());
}

#[test]
fn every_f16_value_converts_exactly_both_ways() {
    for h in 0..=u16::MAX {
        let x = f16_to_f32(h);
        if x.is_nan() {
            assert!(f16_bits(x) & 0x7C00 == 0x7C00 && f16_bits(x) & 0x03FF != 0);
        } else {
            assert_eq!(f16_bits(x), h, "{h:#06x} = {x:e}");
        }
    }
}

#[test]
fn f32_and_f16_checkpoints_round_trip() {
    for (norm, seed) in [(Norm::Rms, 11), (Norm::Layer, 12)] {
        let m = model(norm, seed);
        let f32_bytes = m.to_bytes_as(FloatStorage::F32).unwrap();
        assert_eq!(f32_bytes, m.to_bytes());
        let (back, storage) = FloatModel::read_with_storage(&f32_bytes[..]).unwrap();
        assert_eq!((back, storage), (m.clone(), FloatStorage::F32));

        let f16_bytes = m.to_bytes_as(FloatStorage::F16).unwrap();
        let (back, storage) = FloatModel::read_with_storage(&f16_bytes[..]).unwrap();
        assert_eq!(storage, FloatStorage::F16);
        assert_eq!(back, m.rounded(FloatStorage::F16));
        // Writing what an f16 file holds gives the same file again.
        assert_eq!(back.to_bytes_as(FloatStorage::F16).unwrap(), f16_bytes);
        // Header (magic, version, 10 config words, value type), then per
        // tensor a count and 2 bytes a value.
        let tensors = m.tensors().len();
        let values = m.config.parameters() as usize;
        assert_eq!(f16_bytes.len(), 4 + 4 + 40 + 4 + 4 * tensors + 2 * values);
        assert_eq!(f32_bytes.len(), 4 + 4 + 40 + 4 * tensors + 4 * values);
        assert_eq!(&f16_bytes[4..8], &2u32.to_le_bytes());
        assert_eq!(&f16_bytes[48..52], &1u32.to_le_bytes());

        for cut in [3, 50, f16_bytes.len() - 1] {
            assert!(
                FloatModel::from_bytes(&f16_bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
    }
}

#[test]
fn an_f16_file_loads_to_exactly_the_rounded_weights() {
    let m = model(Norm::Rms, 3);
    let back = FloatModel::from_bytes(&m.to_bytes_as(FloatStorage::F16).unwrap()).unwrap();
    let (mut changed, mut n) = (0, 0);
    for (a, b) in m.tensors().iter().zip(back.tensors()) {
        for (&x, &y) in a.iter().zip(b.iter()) {
            assert_eq!(y.to_bits(), f16_to_f32(f16_bits(x)).to_bits(), "{x:e}");
            // Within half a unit in the last place: 2^-11 relative, or
            // 2^-25 among binary16's subnormals.
            let half_ulp = (x.abs() * 2f32.powi(-11)).max(2f32.powi(-25));
            assert!((y - x).abs() <= half_ulp, "{x:e} -> {y:e}");
            changed += usize::from(x != y);
            n += 1;
        }
    }
    // Random f32 weights almost never fit 11 bits exactly.
    assert!(changed > n * 9 / 10, "{changed} of {n} changed");
}

/// `tests/data/float-v1.float` was written by the format before version 2
/// existed (`FloatModel::random` of this configuration, seed 5): old
/// checkpoints, such as the `f32` ones in git history, still load, and
/// `f32` is still written byte for byte as then.
#[test]
fn old_f32_files_still_load() {
    let old = include_bytes!("data/float-v1.float");
    let cfg = Config {
        vocab: 16,
        ..Config::sized(8, 1, 2, 8, 32)
    };
    let want = FloatModel::random(cfg, 5);
    let (m, storage) = FloatModel::read_with_storage(&old[..]).unwrap();
    assert_eq!(storage, FloatStorage::F32);
    assert_eq!(m, want);
    assert_eq!(want.to_bytes(), old.to_vec());
}

#[test]
fn a_version_2_header_may_hold_f32_values() {
    let m = model(Norm::Layer, 4);
    let v1 = m.to_bytes();
    let mut v2 = v1[..48].to_vec();
    v2[4..8].copy_from_slice(&2u32.to_le_bytes());
    v2.extend_from_slice(&0u32.to_le_bytes());
    v2.extend_from_slice(&v1[48..]);
    let (back, storage) = FloatModel::read_with_storage(&v2[..]).unwrap();
    assert_eq!((back, storage), (m, FloatStorage::F32));
}

#[test]
fn bad_versions_and_value_types_are_clear_errors() {
    let m = model(Norm::Rms, 5);
    let mut bad = m.to_bytes_as(FloatStorage::F16).unwrap();
    bad[48..52].copy_from_slice(&7u32.to_le_bytes());
    let err = FloatModel::from_bytes(&bad).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("value type 7"), "{err}");
    bad[4..8].copy_from_slice(&3u32.to_le_bytes());
    let err = FloatModel::from_bytes(&bad).unwrap_err();
    assert!(err.to_string().contains("version 3"), "{err}");
}

#[test]
fn values_beyond_the_f16_range_are_refused_not_made_infinite() {
    let mut m = model(Norm::Rms, 6);
    m.head[5] = 65504.0;
    let back = FloatModel::from_bytes(&m.to_bytes_as(FloatStorage::F16).unwrap()).unwrap();
    assert_eq!(back.head[5], 65504.0);
    m.head[5] = -70000.0;
    let err = m.to_bytes_as(FloatStorage::F16).unwrap_err();
    assert!(err.to_string().contains("65504"), "{err}");
    // f32 holds it.
    assert_eq!(FloatModel::from_bytes(&m.to_bytes()).unwrap(), m);
}

/// The shipped float checkpoints are stored in binary16.
#[test]
fn shipped_float_checkpoints_are_f16() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    let mut found = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "float") {
            let bytes = std::fs::read(&path).unwrap();
            let (m, storage) = FloatModel::read_with_storage(&bytes[..]).unwrap();
            assert_eq!(storage, FloatStorage::F16, "{}", path.display());
            m.validate().unwrap();
            found += 1;
        }
    }
    assert!(found > 0, "no models/*.float");
}
