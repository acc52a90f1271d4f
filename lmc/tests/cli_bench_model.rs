//! Not a test: writes a random-weight int8 model of a paper size for
//! measuring `lmc`'s speed before (or without) the trained model. Speed
//! does not depend on the weights.
//!
//! `LMC_BENCH_MODEL=/tmp/200k.lmm LMC_BENCH_SIZE=200K cargo test --release
//! -p lmc --test cli_bench_model -- --ignored write_random`

mod cli_common;

#[test]
#[ignore = "writes a model file for measurements"]
fn write_random_paper_model() {
    let path = std::env::var("LMC_BENCH_MODEL").expect("set LMC_BENCH_MODEL");
    let size = std::env::var("LMC_BENCH_SIZE").unwrap_or_else(|_| "200K".into());
    // Context 2048 and the trainer's attention window of 256.
    if size == "tiny" {
        let bytes = lmc::models::tiny_random_model(1).unwrap();
        std::fs::write(&path, bytes).unwrap();
        return;
    }
    let config = match size.as_str() {
        "200K" => model_int8::Config::paper_200k(256, 2048),
        "800K" => model_int8::Config::paper_800k(256, 2048),
        "3.2M" => model_int8::Config::paper_3m2(256, 2048),
        _ => panic!("LMC_BENCH_SIZE is tiny, 200K, 800K or 3.2M"),
    };
    let bytes = model_int8::bench::random_int8_model(config, 1).unwrap();
    std::fs::write(&path, bytes).unwrap();
}

/// Not a test: writes `LMC_BENCH_LEN` bytes for speed runs whose chunks
/// are coded, not stored, under the model at `LMC_BENCH_MODEL` (a random
/// model stores real text, and stored chunks decode without the model):
/// eight 2048-byte chunks drawn from the model, tiled.
#[test]
#[ignore = "writes a data file for measurements"]
fn write_model_drawn_data() {
    let model =
        std::fs::read(std::env::var("LMC_BENCH_MODEL").expect("set LMC_BENCH_MODEL")).unwrap();
    let out = std::env::var("LMC_BENCH_OUT").expect("set LMC_BENCH_OUT");
    let len: usize = std::env::var("LMC_BENCH_LEN")
        .expect("set LMC_BENCH_LEN")
        .parse()
        .unwrap();
    let tile = cli_common::sample(&model, 8 * 2048, 2048, 42);
    let data: Vec<u8> = tile.iter().copied().cycle().take(len).collect();
    std::fs::write(out, data).unwrap();
}
