//! Not a test: writes a random-weight int8 model of a paper size for
//! measuring `lmc`'s speed before (or without) the trained model. Speed
//! does not depend on the weights.
//!
//! `LMC_BENCH_MODEL=/tmp/200k.lmm LMC_BENCH_SIZE=200K cargo test --release
//! -p host-bench --test cli_bench_model -- --ignored`

#[test]
#[ignore = "writes a model file for measurements"]
fn write_random_paper_model() {
    let path = std::env::var("LMC_BENCH_MODEL").expect("set LMC_BENCH_MODEL");
    let size = std::env::var("LMC_BENCH_SIZE").unwrap_or_else(|_| "200K".into());
    // Context 2048 and the trainer's attention window of 256.
    let config = match size.as_str() {
        "200K" => model_int8::Config::paper_200k(256, 2048),
        "800K" => model_int8::Config::paper_800k(256, 2048),
        "3.2M" => model_int8::Config::paper_3m2(256, 2048),
        _ => panic!("LMC_BENCH_SIZE is 200K, 800K or 3.2M"),
    };
    let bytes = model_int8::bench::random_int8_model(config, 1).unwrap();
    std::fs::write(&path, bytes).unwrap();
}
