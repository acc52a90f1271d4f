//! Round-trip properties of the coder over random inputs and random models,
//! including extreme distributions.

mod common;
use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{
    decode_into, decode_to_vec, encode_into, encode_to_vec, max_encoded_len, Decoder, Encoder,
    Error, FreqTable, Model,
};
use common::cases;
use proptest::prelude::*;

/// A table of some shape: the strategies aim at the corners.
#[derive(Clone, Debug)]
enum Shape {
    /// Random weights, quantized.
    Random(Vec<f64>),
    /// One symbol (at `hot`) takes all but the minimum of the others.
    Spike { n: usize, hot: usize },
    /// Uniform.
    Uniform(usize),
}

fn table(shape: &Shape, precision: u32) -> FreqTable<Vec<u32>> {
    let n_max = 1usize << precision;
    match shape {
        Shape::Random(w) => {
            let n = w.len().min(n_max);
            FreqTable::from_probabilities(&w[..n], precision).unwrap()
        }
        Shape::Spike { n, hot } => {
            let n = (*n).min(n_max);
            let mut f = vec![1u32; n];
            f[hot % n] = (1u32 << precision) - (n as u32 - 1);
            let mut cum = vec![0u32; n + 1];
            FreqTable::from_frequencies_into(&f, precision, &mut cum).unwrap();
            FreqTable::from_cumulative(cum, precision).unwrap()
        }
        Shape::Uniform(n) => {
            let n = (*n).min(n_max);
            let mut cum = vec![0u32; n + 1];
            coder_core::freq::fill_uniform(&mut cum, precision).unwrap();
            FreqTable::from_cumulative(cum, precision).unwrap()
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    let weights = prop_oneof![
        // Smooth random weights.
        prop::collection::vec(0.0f64..1.0, 1..300),
        // Heavy-tailed weights: exponents spread over 30 binary orders.
        prop::collection::vec((0.0f64..30.0).prop_map(|e| (-e).exp2()), 1..300),
    ];
    prop_oneof![
        3 => weights.prop_map(Shape::Random),
        2 => (1usize..=65536, any::<usize>()).prop_map(|(n, hot)| Shape::Spike { n, hot }),
        1 => prop_oneof![Just(65536usize), Just(256), 1usize..=65536].prop_map(Shape::Uniform),
    ]
}

/// Symbols to code: uniform over the alphabet, drawn from the table, or
/// long runs of the first or last symbol (the cases that make carries and
/// runs of 0xFF).
fn symbols_for(t: &FreqTable<Vec<u32>>, seeds: &[u32], mode: u8) -> Vec<u32> {
    let n = t.symbols() as u32;
    let total = 1u64 << t.precision();
    seeds
        .iter()
        .enumerate()
        .map(|(i, &r)| match mode % 4 {
            0 => r % n,
            1 => t.lookup((u64::from(r) % total) as u32).unwrap().0 as u32,
            2 => {
                if i % 97 == 13 {
                    r % n
                } else {
                    n - 1
                }
            }
            _ => {
                if r % 5 == 0 {
                    r % n
                } else {
                    t.lookup(((u64::from(r) * 7) % total) as u32).unwrap().0 as u32
                }
            }
        })
        .collect()
}

fn ideal_bits(t: &FreqTable<Vec<u32>>, symbols: &[u32]) -> f64 {
    let total = (1u64 << t.precision()) as f64;
    symbols
        .iter()
        .map(|&s| -(f64::from(t.frequency(s as usize).unwrap().get()) / total).log2())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    #[test]
    fn static_round_trip(
        shape in shape(),
        precision in prop_oneof![1u32..=24, Just(24u32), Just(16u32)],
        seeds in prop::collection::vec(any::<u32>(), 0..600),
        mode in any::<u8>(),
    ) {
        let t = table(&shape, precision);
        let symbols = symbols_for(&t, &seeds, mode);
        let ideal = ideal_bits(&t, &symbols);
        let mut model = StaticModel::new(t);
        let coded = encode_to_vec(&mut model, &symbols).unwrap();
        // Termination costs at most 2 bytes (1 by construction, plus rounding).
        prop_assert!((coded.len() * 8) as f64 <= ideal + 16.0, "{} bytes for {ideal} bits", coded.len());
        prop_assert!(coded.len() <= max_encoded_len(symbols.len(), precision));
        let back: Vec<u32> = decode_to_vec(&mut model, &coded, symbols.len()).unwrap();
        prop_assert_eq!(&back, &symbols);

        // A buffer one byte short is OutputFull, never a panic.
        if !coded.is_empty() {
            let mut short = vec![0u8; coded.len() - 1];
            prop_assert_eq!(encode_into(&mut model, &symbols, &mut short), Err(Error::OutputFull));
        }
    }

    #[test]
    fn context_model_round_trip(
        data in prop::collection::vec(any::<u8>(), 0..2000),
        skew in 0u8..4,
        order in 0u32..=3,
        hash_bits in 0u32..=10,
        precision in 8u32..=24,
        max_rate in 1u32..=16,
    ) {
        // Skewed data makes long runs of likely symbols.
        let data: Vec<u8> = data.iter().map(|&b| if skew > 0 { b % (1 << (2 * skew)) } else { b }).collect();
        let cfg = ContextConfig { symbols: 256, precision, order, hash_bits, max_rate };
        let mut model = ContextModel::new(cfg).unwrap();
        let coded = encode_to_vec(&mut model, &data).unwrap();
        let back: Vec<u8> = decode_to_vec(&mut model, &coded, data.len()).unwrap();
        prop_assert_eq!(back, data);
    }

    #[test]
    fn garbage_never_panics(
        coded in prop::collection::vec(any::<u8>(), 0..64),
        shape in shape(),
        precision in 1u32..=24,
        n in 0usize..200,
    ) {
        let mut model = StaticModel::new(table(&shape, precision));
        let mut out = vec![0u32; n];
        let _ = decode_into(&mut model, &coded, &mut out);
        let mut ctx = ContextModel::new(ContextConfig::order2_bytes(8)).unwrap();
        let mut bytes = vec![0u8; n];
        let _ = decode_into(&mut ctx, &coded, &mut bytes);
    }

    /// A damaged stream either fails or decodes to different symbols: the
    /// decoder accepts only the canonical coding of what it decodes.
    #[test]
    fn damage_is_refused_or_changes_the_output(
        data in prop::collection::vec(0u8..16, 1..400),
        at in any::<usize>(),
        flip in 1u8..=255,
        cut in any::<bool>(),
    ) {
        let mut model = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
        let mut coded = encode_to_vec(&mut model, &data).unwrap();
        if coded.is_empty() {
            return Ok(());
        }
        if cut {
            coded.truncate(at % coded.len());
        } else {
            let i = at % coded.len();
            coded[i] ^= flip;
        }
        let mut back = vec![0u8; data.len()];
        if decode_into(&mut model, &coded, &mut back).is_ok() {
            prop_assert_ne!(back, data);
        }
    }
}

#[test]
fn empty_input_codes_to_nothing() {
    let mut model = StaticModel::new(FreqTable::<[u32; 257]>::uniform(8).unwrap());
    let mut out = [0u8; 4];
    assert_eq!(encode_into(&mut model, &[] as &[u8], &mut out), Ok(0));
    let mut none: [u8; 0] = [];
    assert_eq!(decode_into(&mut model, &[], &mut none), Ok(()));
    // Any byte where nothing was coded is refused.
    assert_eq!(
        decode_into(&mut model, &[0x80], &mut none),
        Err(Error::Corrupt)
    );
    assert_eq!(
        decode_into(&mut model, &[0], &mut none),
        Err(Error::Corrupt)
    );
}

#[test]
fn certain_symbols_cost_almost_nothing() {
    // Symbol 1 of 2 at probability 1 - 2^-24, coded 100,000 times: about
    // 0.009 bits in all, so the stream is at most one byte.
    let t = FreqTable::from_cumulative([0u32, 1, 1 << 24], 24).unwrap();
    let mut model = StaticModel::new(t);
    let symbols = vec![1u8; 100_000];
    let coded = encode_to_vec(&mut model, &symbols).unwrap();
    assert!(coded.len() <= 1, "{coded:?}");
    let back: Vec<u8> = decode_to_vec(&mut model, &coded, symbols.len()).unwrap();
    assert_eq!(back, symbols);
}

#[test]
fn low_level_api_and_alphabet_errors() {
    let t = FreqTable::<[u32; 4]>::uniform(4).unwrap();
    let mut buf = [0u8; 16];
    let mut enc = Encoder::new(&mut buf);
    assert_eq!(enc.encode_symbol(&t, 3), Err(Error::SymbolOutOfRange));
    enc.encode_symbol(&t, 2).unwrap();
    let nz = core::num::NonZeroU32::new(5).unwrap();
    assert_eq!(enc.encode_interval(12, nz, 4), Err(Error::BadFrequencies));
    assert_eq!(enc.encode_interval(0, nz, 25), Err(Error::BadPrecision));
    enc.encode_interval(11, nz, 4).unwrap();
    let n = enc.finish().unwrap();
    let mut dec = Decoder::new(&buf[..n]);
    assert_eq!(dec.decode_symbol(&t), Ok(2));
    let t16 = FreqTable::from_cumulative([0u32, 11, 16], 4).unwrap();
    assert_eq!(dec.decode_symbol(&t16), Ok(1));
    assert_eq!(dec.finish(), Ok(()));

    // A byte model cannot decode into u8 a symbol above 255.
    let mut wide = StaticModel::new(FreqTable::<[u32; 1001]>::uniform(10).unwrap());
    let coded = encode_to_vec(&mut wide, &[999u16]).unwrap();
    let mut out = [0u8; 1];
    assert_eq!(
        decode_into(&mut wide, &coded, &mut out),
        Err(Error::Corrupt)
    );
    let mut out = [0u16; 1];
    assert_eq!(decode_into(&mut wide, &coded, &mut out), Ok(()));
    assert_eq!(out, [999]);
    assert_eq!(wide.symbols(), 1000);
}

#[test]
fn models_work_behind_dyn_and_box() {
    let data = b"dynamic dispatch, same bytes";
    let mut direct = ContextModel::new(ContextConfig::order2_bytes(6)).unwrap();
    let expected = encode_to_vec(&mut direct, data).unwrap();
    let mut boxed: Box<dyn Model> = Box::new(direct.clone());
    assert_eq!(encode_to_vec(&mut boxed, data).unwrap(), expected);
    let dynamic: &mut dyn Model = &mut direct;
    assert_eq!(encode_to_vec(dynamic, data).unwrap(), expected);
    let back: Vec<u8> = decode_to_vec(&mut boxed, &expected, data.len()).unwrap();
    assert_eq!(back, data);
}
