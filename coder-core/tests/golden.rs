//! Golden tests: exact output bytes for fixed inputs, so any change to the
//! coder, the models or the container format shows here. A deliberate
//! format change must bump `container::VERSION` and update these.

use coder_core::container::compress_to_vec;
use coder_core::models::{ContextConfig, ContextModel, StaticModel};
use coder_core::{crc32, encode_to_vec, FreqTable, Model};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const TEXT: &[u8] =
    b"It was the best of times, it was the worst of times, it was the age of wisdom.";

#[test]
fn golden_static_bytes() {
    let mut m = StaticModel::new(FreqTable::<[u32; 257]>::uniform(8).unwrap());
    // Uniform over 256 symbols at 8 bits: the coding is the input itself.
    assert_eq!(
        hex(&encode_to_vec(&mut m, b"Hello").unwrap()),
        hex(b"Hello")
    );
    // 65,536 symbols, one with all but 65,535 of 2^24 counts.
    let mut f = vec![1u32; 65536];
    f[7] = (1 << 24) - 65535;
    let mut cum = vec![0u32; 65537];
    FreqTable::from_frequencies_into(&f, 24, &mut cum).unwrap();
    let mut m = StaticModel::new(FreqTable::from_cumulative(cum, 24).unwrap());
    let coded = encode_to_vec(&mut m, &[7u16, 65535, 7, 7, 0, 12345, 7, 7, 7]).unwrap();
    assert_eq!(hex(&coded), "ff000700ff0de736bd");
}

#[test]
fn golden_adaptive_bytes() {
    let mut m = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
    assert_eq!(hex(&encode_to_vec(&mut m, TEXT).unwrap()), "49b9be29314f97fbad27120ec9040ec55fecefdeea1393da3ac7b3831853acdeef169dda955803490e383548daf7389de864e9847aa795");
    let mut m = ContextModel::new(ContextConfig::order2_bytes(12)).unwrap();
    assert_eq!(hex(&encode_to_vec(&mut m, TEXT).unwrap()), "497420776172d70047edbeef44ff0bbb1788aac6e61557f15e9ff3d20d6de8c6936f8466fcab0e5169050c5130457e58a194d86a");
}

#[test]
fn golden_container_bytes() {
    let mut m = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
    let stream = compress_to_vec(&mut m, TEXT, 40).unwrap();
    assert_eq!(
        hex(&stream),
        concat!(
            "4c4d435a01000000ba196bf4f90b4d87280000004e00000000000000e1e5a7b35174cc0b",
            "4349b9be29314f97fbad27120ec9040ec55fecefdeea1393da3ac7b3831853acdeee",
            "4373b9be16c9397702b116ef8fccff95b5c5b7bff5e402eadd779088fb461f942a06"
        )
    );
}

#[test]
fn golden_fingerprints_and_crc() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    let fp = |m: &dyn Model| format!("{:016x}", m.fingerprint());
    let s = StaticModel::new(FreqTable::<[u32; 257]>::uniform(16).unwrap());
    let o0 = ContextModel::new(ContextConfig::order0_bytes()).unwrap();
    let o2 = ContextModel::new(ContextConfig::order2_bytes(12)).unwrap();
    assert_eq!(
        [fp(&s), fp(&o0), fp(&o2)],
        ["7d6e0b3f90cbdf58", "874d0bf9f46b19ba", "bdf2c7002c127cf6"]
    );
}
