//! The int8 model tracks the float reference.

mod common;

use model_int8::{bits_per_byte, working_memory_size, FloatRef, Int8Model, ModelFile};

#[test]
fn random_model_int8_close_to_float() {
    for (cfg, seed) in [
        (common::small_config(), 1u64),
        (model_int8::Config { norm: model_int8::Norm::Layer, activation: model_int8::Activation::Relu, ..common::small_config() }, 2),
    ] {
        let (fm, bytes) = common::small_model(cfg, seed);
        let file = ModelFile::parse(&bytes).unwrap();
        let mut work = vec![0u8; working_memory_size(file.config())];
        let mut m = Int8Model::new(&file, &mut work).unwrap();
        let mut f = FloatRef::new(fm, 16);
        let bi = bits_per_byte(&mut m, common::TEXT, 100);
        let bf = bits_per_byte(&mut f, common::TEXT, 100);
        println!("int8 {bi:.4} float {bf:.4}");
        assert!((bi - bf).abs() / bf < 0.05, "int8 {bi} float {bf}");
    }
}
