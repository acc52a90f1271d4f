//! Sets the `model_int8_dsp` cfg when compiling for an Arm core with the DSP
//! extension (`SMLAD`, `SXTB16`): the Cortex-M4/M7 targets `thumbv7em-*`,
//! or any Arm target whose cfg lists the `dsp` feature. Stable Rust does not
//! expose Arm target features to `cfg(target_feature)`, so the target name
//! decides; the kernels are then chosen at compile time (`src/dsp.rs`).
//! `MODEL_INT8_NO_DSP=1` in the build's environment keeps the portable
//! kernels (to measure the difference).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(model_int8_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=MODEL_INT8_NO_DSP");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let arm = var("CARGO_CFG_TARGET_ARCH") == "arm";
    let v7em = var("TARGET").starts_with("thumbv7em");
    let dsp = var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "dsp");
    let off = !var("MODEL_INT8_NO_DSP").is_empty();
    if arm && (v7em || dsp) && !off {
        println!("cargo::rustc-cfg=model_int8_dsp");
    }
}
