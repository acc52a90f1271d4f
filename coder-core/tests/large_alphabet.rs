//! Token alphabets (BPE vocabularies of 1K–32K and up to `MAX_SYMBOLS`):
//! tables at the precision the int8 quantizer picks for them
//! (`2^precision >= 256 * symbols`), decoding by binary search, round
//! trips, and the same overhead bound as bytes (`tests/efficiency.rs`:
//! one byte plus `10^-6` of the ideal length).

use coder_core::{
    decode_into, encode_into, max_encoded_len, FreqTable, Model, MAX_PRECISION, MAX_SYMBOLS,
};

/// `ceil(log2 symbols) + 8`, capped: what `model_int8::precision_for_vocab` picks.
fn precision_for(symbols: usize) -> u32 {
    (usize::BITS - (symbols - 1).leading_zeros() + 8).min(MAX_PRECISION)
}

/// A deterministic xorshift generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A Zipf-like model whose ranking of the symbols moves with the last
/// symbol seen, so every step has a different table (as a token-level
/// Transformer's would): symbol `s` gets weight `1 / (1 + rank)` where
/// `rank = (s + shift) % n`, quantized like the int8 head (`1 + floor(w *
/// spare)`, the rest to the most likely symbol).
struct Zipf {
    n: usize,
    precision: u32,
    shift: usize,
    weights: Vec<f64>,
    cum: Vec<u32>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let weights: Vec<f64> = (0..n).map(|r| 1.0 / (1.0 + r as f64)).collect();
        let mut m = Zipf {
            n,
            precision: precision_for(n),
            shift: 0,
            weights,
            cum: vec![0; n + 1],
        };
        m.rebuild();
        m
    }

    fn rebuild(&mut self) {
        let total: f64 = self.weights.iter().sum();
        let spare = (1u64 << self.precision) - self.n as u64;
        let mut given = 0u64;
        let mut top = 0;
        for s in 0..self.n {
            let rank = (s + self.shift) % self.n;
            if rank == 0 {
                top = s;
            }
            let f = 1 + (self.weights[rank] / total * spare as f64) as u64;
            self.cum[s + 1] = f as u32;
            given += f;
        }
        self.cum[top + 1] += ((1u64 << self.precision) - given) as u32;
        for i in 1..=self.n {
            self.cum[i] += self.cum[i - 1];
        }
    }

    /// A symbol drawn from the current table.
    fn draw(&self, rng: &mut Rng) -> usize {
        let t = (rng.next() % (1u64 << self.precision)) as u32;
        FreqTable::new_trusted(&self.cum[..], self.precision)
            .lookup(t)
            .unwrap()
            .0
    }
}

impl Model for Zipf {
    fn symbols(&self) -> usize {
        self.n
    }
    fn precision(&self) -> u32 {
        self.precision
    }
    fn frequencies(&mut self) -> FreqTable<&[u32]> {
        FreqTable::from_cumulative(&self.cum[..], self.precision).unwrap()
    }
    fn observe(&mut self, symbol: usize) {
        self.shift = symbol * 7919 % self.n;
        self.rebuild();
    }
    fn reset(&mut self) {
        self.shift = 0;
        self.rebuild();
    }
    fn fingerprint(&self) -> u64 {
        self.n as u64
    }
}

#[test]
fn the_quantizer_precision_leaves_room_for_every_vocabulary() {
    for (n, p) in [
        (256, 16),
        (1000, 18),
        (2000, 19),
        (5000, 21),
        (10_000, 22),
        (20_000, 23),
        (32_768, 23),
        (MAX_SYMBOLS, 24),
    ] {
        assert_eq!(precision_for(n), p, "{n}");
        assert!(1u64 << p >= 256 * n as u64, "{n}");
    }
}

#[test]
fn token_alphabets_round_trip_within_the_byte_overhead_bound() {
    for n in [1000usize, 20_000, 32_768, MAX_SYMBOLS] {
        let mut model = Zipf::new(n);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
        // A sequence drawn from the model itself, as a trained model's
        // tokens would be; the ideal cost from the exact integer tables.
        let len = if n > 20_000 { 1500 } else { 3000 };
        let mut symbols = Vec::with_capacity(len);
        let mut ideal = 0.0;
        model.reset();
        for _ in 0..len {
            let s = model.draw(&mut rng);
            let f = model.frequencies().frequency(s).unwrap().get();
            ideal += f64::from(model.precision) - f64::from(f).log2();
            symbols.push(s as u32);
            model.observe(s);
        }
        let mut out = vec![0u8; max_encoded_len(len, model.precision)];
        let k = encode_into(&mut model, &symbols, &mut out).unwrap();
        let actual = 8.0 * k as f64;
        assert!(
            actual <= ideal + 8.0 + 1e-6 * ideal,
            "{n}: {k} bytes, ideal {:.1}",
            ideal / 8.0
        );
        assert!(actual >= ideal - 8.0, "{n}");
        let mut back = vec![0u32; len];
        decode_into(&mut model, &out[..k], &mut back).unwrap();
        assert_eq!(back, symbols, "{n}");
    }
}

#[test]
fn lookup_by_search_agrees_with_a_scan_at_every_boundary() {
    let n = MAX_SYMBOLS;
    let p = MAX_PRECISION;
    let mut rng = Rng(12345);
    // Random frequencies summing to 2^24, each at least 1.
    let mut f: Vec<u32> = (0..n).map(|_| 1 + (rng.next() % 400) as u32).collect();
    let sum: u64 = f.iter().map(|&x| u64::from(x)).sum();
    f[n / 3] += ((1u64 << p) - sum) as u32;
    let mut cum = vec![0u32; n + 1];
    let table = FreqTable::from_frequencies_into(&f, p, &mut cum).unwrap();
    assert_eq!(table.symbols(), n);
    for s in (0..n).step_by(97).chain([0, 1, n / 3, n - 2, n - 1]) {
        let (lo, fr) = table.interval(s).unwrap();
        for t in [lo, lo + fr.get() / 2, lo + fr.get() - 1] {
            assert_eq!(table.lookup(t).map(|x| x.0), Some(s), "target {t}");
        }
    }
    assert!(table.lookup(1 << p).is_none());
    // One symbol more than the limit is refused.
    let cum: Vec<u32> = (0..=n as u32 + 1).collect();
    assert!(FreqTable::from_cumulative(&cum[..], 17).is_err());
}
