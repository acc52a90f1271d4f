#!/usr/bin/env bash
# Runs the workspace's tests on a fresh machine, installing what is missing
# (the bare-metal and aarch64 targets, QEMU, an aarch64 cross linker).
#
#   bash scripts/test-all.sh          the fast tier (what CI runs): the
#                                     no_std build for the Cortex-M4F, every
#                                     workspace test (the firmware in QEMU),
#                                     model-int8 in release with its SIMD
#                                     kernels (golden hashes, every model's
#                                     pinned stream, a 1 MB stream per model
#                                     size), and the NEON kernels under
#                                     qemu-aarch64, bit-exact with x86-64
#   bash scripts/test-all.sh --full   also what to run before shipping a
#                                     model: every model's 1 MB stream, the
#                                     shelf table against git history, the
#                                     aarch64 round trips, the firmware's
#                                     16 KiB stream, the trainer's
#                                     CUDA build, the fuzz targets' build
#                                     (and, with a nightly toolchain, a
#                                     few minutes of fuzzing each)
#
# LMC_SKIP_AARCH64=1 skips the aarch64 stages (nothing installed for them).
# Ends with a table of the stages and their seconds (wall and CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

FULL=0
for arg in "$@"; do
  case "$arg" in
    --full) FULL=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "test-all.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

# --- stage timing: wall seconds, and CPU seconds of the commands run
STAGE="" STAGE_T0=0 STAGE_C0=0 TOTAL_T0=$SECONDS
REPORT=()
TIMES_FILE=$(mktemp)
children_cpu() { # sets CPU: user + system seconds of finished child processes
  # `times` must run in this shell (in `$(...)` it would see a subshell's).
  times >"$TIMES_FILE"
  CPU=$(awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$TIMES_FILE")
}
end_stage() {
  [ -n "$STAGE" ] || return 0
  children_cpu
  REPORT+=("| $STAGE | $((SECONDS - STAGE_T0)) | $((CPU - STAGE_C0)) |")
  STAGE=""
}
stage() {
  end_stage
  children_cpu
  STAGE=$1 STAGE_T0=$SECONDS STAGE_C0=$CPU
  echo "== $1"
}
report() {
  end_stage
  children_cpu
  echo
  echo "| stage | wall s | CPU s |"
  echo "|---|---:|---:|"
  printf '%s\n' "${REPORT[@]}"
  echo "| **total** ($([ "$FULL" = 1 ] && echo full || echo fast) tier) | **$((SECONDS - TOTAL_T0))** | **$CPU** |"
  rm -f "$TIMES_FILE"
}
trap 'status=$?; [ $status -eq 0 ] || { echo "== FAILED in stage: ${STAGE:-?}"; report; }' EXIT

AARCH64=1
[ "${LMC_SKIP_AARCH64:-0}" = 1 ] && AARCH64=0

stage "install what is missing"
TARGETS=(thumbv7em-none-eabihf)
[ "$AARCH64" = 1 ] && TARGETS+=(aarch64-unknown-linux-gnu)
for t in "${TARGETS[@]}"; do
  rustup target list --installed | grep -qx "$t" || rustup target add "$t"
done
PKGS=()
command -v qemu-system-arm >/dev/null || PKGS+=(qemu-system-arm)
if [ "$AARCH64" = 1 ]; then
  command -v qemu-aarch64 >/dev/null || PKGS+=(qemu-user)
  command -v aarch64-linux-gnu-gcc >/dev/null || PKGS+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || PKGS+=(libc6-dev-arm64-cross)
fi
if [ "${#PKGS[@]}" -gt 0 ]; then
  echo "installing ${PKGS[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
fi
# cargo-nextest runs the test binaries side by side (the machine has two
# cores and a few tests of a minute each); plain `cargo test` otherwise.
NEXTEST=0
cargo nextest --version >/dev/null 2>&1 && NEXTEST=1
run_tests() { # run_tests [--with-ignored] CARGO_ARGS...
  local ignored=0
  [ "$1" = --with-ignored ] && { ignored=1; shift; }
  if [ "$NEXTEST" = 1 ]; then
    local extra=()
    [ "$ignored" = 1 ] && extra=(--run-ignored all)
    cargo nextest run --no-fail-fast --hide-progress-bar --failure-output final "${extra[@]}" "$@"
  elif [ "$ignored" = 1 ]; then
    cargo test --no-fail-fast "$@" -- --include-ignored
  else
    cargo test --no-fail-fast "$@"
  fi
}

stage "no_std crates for thumbv7em-none-eabihf"
cargo build -p coder-core -p model-int8 --no-default-features --target thumbv7em-none-eabihf

# Examples are left out of the test builds (clippy --all-targets in
# .ci/run compiles them).
stage "workspace tests (debug; the firmware in QEMU)"
run_tests --workspace --lib --bins --tests
stage "workspace doc tests"
cargo test --workspace --doc

stage "model-int8 in release with its SIMD kernels (golden hashes, pinned and 1 MB streams)"
if [ "$FULL" = 1 ]; then
  run_tests --with-ignored -p model-int8 --features simd --release --lib --tests
else
  run_tests -p model-int8 --features simd --release --lib --tests
fi

# The same kernels' tests once per lesser x86-64 kernel set this CPU can
# run (MODEL_INT8_KERNELS caps the set; every set gives the same bytes).
# The AVX2 set, the one most machines have, also codes every shipped
# model's pinned stream (30 s; the portable set would take minutes).
if [ "$(uname -m)" = x86_64 ]; then
  for set in avx-vnni avx2 portable; do
    pinned=()
    [ "$set" = avx2 ] && pinned=(--test pinned)
    stage "model-int8 with MODEL_INT8_KERNELS=$set (kernels, lockstep batches, golden hashes${pinned:+, pinned streams})"
    MODEL_INT8_KERNELS=$set run_tests -p model-int8 --features simd --release \
      --lib --test kernels --test batch --test golden "${pinned[@]}"
  done
fi

if [ "$AARCH64" = 1 ]; then
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  A64=(cargo test -p model-int8 --features simd --target aarch64-unknown-linux-gnu)
  stage "model-int8 for aarch64 (build)"
  cargo build -p model-int8 --no-default-features --features simd --target aarch64-unknown-linux-gnu
  "${A64[@]}" --no-run --lib --test kernels --test golden --test reference --test stream --test pinned
  # QEMU's default CPU ("max") has the dot-product extension (SDOT kernels);
  # a Cortex-A53 has not (plain NEON kernels). Both give the x86-64 golden
  # hashes and pinned streams: the 200K's (streaming_tables_are_pinned)
  # and, in the fast tier, a token model's (its 1K-symbol head); with
  # --full every model's (emulation takes a minute a 3.2M model).
  PINNED_ONLY="table2/table2-200k-bpe1k.lmm"
  [ "$FULL" = 1 ] && PINNED_ONLY=""
  for cpu in max cortex-a53; do
    stage "model-int8 NEON kernels under qemu-aarch64 -cpu $cpu"
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -cpu $cpu -L /usr/aarch64-linux-gnu"
    "${A64[@]}" --lib --test kernels --test golden --test reference
    "${A64[@]}" --test stream -- positions_inside_the_context_are_unchanged streaming_tables_are_pinned
    MODEL_INT8_PINNED_ONLY=$PINNED_ONLY "${A64[@]}" --test pinned -- every_model_codes_its_pinned_4k_stream
  done
  if [ "$FULL" = 1 ]; then
    stage "model-int8 round trips under qemu-aarch64"
    # Held-out enwik8 with every shipped model takes minutes under
    # emulation: left to the native runs.
    "${A64[@]}" --test roundtrip -- --skip round_trips_enwik8
  fi
else
  echo "== aarch64 NEON kernels: skipped (LMC_SKIP_AARCH64=1)"
fi

if [ "$FULL" = 1 ]; then
  stage "the firmware's 16 KiB stream in QEMU"
  LMC_FIRMWARE_STREAM_LEN=16384 cargo test -p integration-tests --test firmware_qemu
  stage "the shelf table against git history"
  cargo test -p lmc --test shelf -- --ignored
  stage "the trainer's CUDA build (no GPU or CUDA toolkit needed to build)"
  cargo check -p trainer --features cuda
  stage "the fuzz targets build"
  for f in coder-core/fuzz model-int8/fuzz lmc/fuzz; do
    [ -f "$f/Cargo.toml" ] && cargo check --manifest-path "$f/Cargo.toml" --target-dir target/fuzz
  done
  if cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1; then
    stage "fuzzing, 3 minutes per target"
    for f in coder-core model-int8 lmc; do
      [ -d "$f/fuzz" ] || continue
      for t in $(cd "$f" && cargo +nightly fuzz list); do
        (cd "$f" && cargo +nightly fuzz run "$t" -- -max_total_time=180)
      done
    done
  else
    echo "== fuzzing: skipped (needs a nightly toolchain and cargo-fuzz; see lmc/README.md)"
  fi
fi

report
