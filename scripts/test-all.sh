#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what is
# missing (the bare-metal target, QEMU), builds the no_std crates for the
# Cortex-M4F, checks the CUDA build of the trainer, and runs the tests
# (which include the firmware in QEMU).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
  echo "== adding the thumbv7em-none-eabihf target"
  rustup target add thumbv7em-none-eabihf
fi
if ! command -v qemu-system-arm >/dev/null; then
  echo "== installing qemu-system-arm"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends qemu-system-arm
fi

echo "== no_std crates for thumbv7em-none-eabihf"
cargo build -p coder-core -p model-int8 --no-default-features --target thumbv7em-none-eabihf

echo "== the trainer's CUDA build (no GPU or CUDA toolkit needed to build)"
cargo check -p trainer --features cuda

echo "== workspace tests"
cargo test --workspace

echo "== lmc's fuzz target still builds (run it with cargo +nightly fuzz, lmc/README.md)"
cargo check --manifest-path lmc/fuzz/Cargo.toml --target-dir target/lmc-fuzz

echo "== model-int8 with its SIMD kernels (the golden hashes must not change)"
cargo test -p model-int8 --features simd --release
