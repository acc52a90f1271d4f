#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what is
# missing (the bare-metal and aarch64 targets, QEMU, an aarch64 cross
# linker), builds the no_std crates for the Cortex-M4F, checks the CUDA
# build of the trainer, and runs the tests (which include the firmware in
# QEMU, and model-int8's NEON kernels under qemu-aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx thumbv7em-none-eabihf; then
  echo "== adding the thumbv7em-none-eabihf target"
  rustup target add thumbv7em-none-eabihf
fi
# The aarch64 build of model-int8 (NEON kernels) is tested under user-mode
# QEMU with a cross linker; LMC_SKIP_AARCH64=1 skips it (nothing installed).
AARCH64=1; [ "${LMC_SKIP_AARCH64:-0}" = 1 ] && AARCH64=0
if [ "$AARCH64" = 1 ] && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "== adding the aarch64-unknown-linux-gnu target"
  rustup target add aarch64-unknown-linux-gnu
fi
PKGS=()
command -v qemu-system-arm >/dev/null || PKGS+=(qemu-system-arm)
if [ "$AARCH64" = 1 ]; then
  command -v qemu-aarch64 >/dev/null || PKGS+=(qemu-user)
  command -v aarch64-linux-gnu-gcc >/dev/null || PKGS+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || PKGS+=(libc6-dev-arm64-cross)
fi
if [ "${#PKGS[@]}" -gt 0 ]; then
  echo "== installing ${PKGS[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
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

if [ "$AARCH64" = 1 ]; then
  echo "== model-int8 for aarch64 with its NEON kernels, under qemu-aarch64 (the same golden hashes)"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  A64=(cargo test -p model-int8 --features simd --target aarch64-unknown-linux-gnu)
  # The shipped 200K model's pinned tables over 2048 held-out enwik8 bytes,
  # and a pinned stream past the context.
  PINNED=(positions_inside_the_context_are_unchanged streaming_tables_are_pinned)
  cargo build -p model-int8 --no-default-features --features simd --target aarch64-unknown-linux-gnu
  # QEMU's default CPU ("max") has the dot-product extension (SDOT kernels);
  # a Cortex-A53 has not (plain NEON kernels).
  for cpu in max cortex-a53; do
    echo "== aarch64 under qemu-aarch64 -cpu $cpu"
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L /usr/aarch64-linux-gnu"
    "${A64[@]}" --lib --test kernels --test golden --test reference
    "${A64[@]}" --test stream -- "${PINNED[@]}"
  done
  # Round trips (held-out enwik8 with every shipped model takes minutes
  # under emulation: left to the native runs).
  "${A64[@]}" --test roundtrip -- --skip round_trips_enwik8
else
  echo "== aarch64 NEON kernels: skipped (LMC_SKIP_AARCH64=1)"
fi
