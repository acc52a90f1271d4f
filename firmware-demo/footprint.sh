#!/usr/bin/env bash
# Measures the firmware's flash and RAM footprint for the 200K and 800K
# models (README's table): builds each, prints section sizes and the sizes
# of what the demo embeds besides the model. Stack peaks come from a QEMU
# run (the firmware logs them).
# Usage: firmware-demo/footprint.sh [MODEL.lmm]   (default: the shipped
# 200K model, else a random-weight one, and a random-weight 800K model)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
SIZE=${SIZE:-$(command -v llvm-size || command -v arm-none-eabi-size || echo rust-size)}
elf=target/thumbv7em-none-eabihf/release/firmware-demo
m200=${1:-}
if [ -z "$m200" ]; then
  if [ -f ../model-int8/models/lm-200k.lmm ]; then m200=../model-int8/models/lm-200k.lmm; else m200=random-200k; fi
fi
for model in "$m200" random-800k; do
  FIRMWARE_MODEL=$model cargo build --release -q
  out=$(dirname "$(ls -t target/thumbv7em-none-eabihf/release/build/firmware-demo-*/out/generated.rs | head -1)")
  echo "== $model"
  "$SIZE" -A "$elf" | grep -E '^\.(vector_table|text|rodata|data|bss|uninit) '
  for f in model.lmm golden.lmm host_blob.bin host_order2_blob.bin golden_input.bin text.bin host_stream_blob.bin; do
    printf '%-22s %8d\n' "$f" "$(stat -c %s "$out/$f")"
  done
  cp "$elf" "target/firmware-${model##*/}.elf"
done
