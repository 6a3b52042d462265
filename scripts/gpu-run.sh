#!/usr/bin/env bash
# The GPU run (docs/gpu.md), from the pack `npm run gpu:pack` writes (.gpu-pack/, this script in it), on a machine with
# an NVIDIA GPU, its driver, PyTorch and no Node. From the folder that holds .gpu-pack:
#   OUT=/folder/for/results bash .gpu-pack/gpu-run.sh
# Each part has a time limit, and the call ends within GPU_RUN_SECONDS (default 540, inside a 10-minute command):
#   1. unpack Node, the library with the node_modules files it loads, the Vulkan loader (into a private prefix, on
#      LD_LIBRARY_PATH) and the dataset;
#   2. the adapter Dawn finds (vendor, architecture), or stop with the reason;
#   3. gpt.py's training step (batch 64, block 256) on ours and on PyTorch CUDA eager, and ours ÷ PyTorch's;
#   4. train gpt.py's configuration at its own settings, continuing the state in .gpu-pack/resume/ where a previous
#      call left one, stopped by SIGINT (the train command then saves its model directory) before time runs out;
#   5. into $OUT: resume.xz.00, .01, ... (the state the next call continues from: copy them into .gpu-pack/resume/),
#      then sample.txt (500 characters of the model), losses.tsv (every evaluation of the run), summary.json, log.txt.
# Settings (the rehearsal sets them: scripts/gpu-rehearse.sh):
#   GPU_RUN_SECONDS         the whole call (default 540)
#   GPU_RUN_RESERVE         seconds kept after training for the sample, the state and the outputs (default 150)
#   GPU_RUN_OVERRIDES       configuration keys for the training and the timing, as the train command takes them
#                           ("--max-iters 20 --n-layer 2"; default none: gpt.py's own settings)
#   GPU_RUN_TIMING_STEPS    timed steps on each side (default 10, after GPU_RUN_TIMING_WARMUP, default 3; 0 leaves
#                           the timing out)
#   GPU_RUN_TORCH_DEVICE    PyTorch's device: cuda (default) or cpu
#   GPU_RUN_SAMPLE_CHARS    the sample's length (default 500)
#   GPU_RUN_ALLOW_SOFTWARE  1 accepts a software adapter (SwiftShader)
#   GPU_RUN_DIR             where to unpack and train (default $TMPDIR/build-gpt-gpu-run, emptied first)
#   VK_ICD_FILENAMES, VK_DRIVER_FILES  the Vulkan driver's manifest (default: NVIDIA's, where the machine has one)
#   PYTHON                  the Python with PyTorch (default python3)
set -uo pipefail

PACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$PWD/gpu-out}"
RUN="${GPU_RUN_DIR:-${TMPDIR:-/tmp}/build-gpt-gpu-run}"
BUDGET="${GPU_RUN_SECONDS:-540}"
RESERVE="${GPU_RUN_RESERVE:-150}"
TIMING_STEPS="${GPU_RUN_TIMING_STEPS:-10}"
TIMING_WARMUP="${GPU_RUN_TIMING_WARMUP:-3}"
SAMPLE_CHARS="${GPU_RUN_SAMPLE_CHARS:-500}"
TORCH_DEVICE="${GPU_RUN_TORCH_DEVICE:-cuda}"
read -ra OVERRIDES <<< "${GPU_RUN_OVERRIDES:-}"
# gpt.py's model with nanoGPT's batched attention: the same parameters and maths as gpt.py's Head modules, in fewer
# kernels, and the layout bench/torch_bench.py times.
TRAIN_ARGS=(--config gpt-py --attention batched "${OVERRIDES[@]}")
APP="$RUN/app"
RESULTS="$RUN/results"
MODEL="$RUN/model"
# The files back from a call: at most 8, each at most 16 MiB.
PART_BYTES=16000000
START=$SECONDS

left() { echo $((BUDGET - (SECONDS - START))); }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }
max() { if [ "$1" -gt "$2" ]; then echo "$1"; else echo "$2"; fi; }
node_run() { "$RUN/bin/node" "$@"; }
# xz where the machine has it, else Python's lzma.
unxz_stream() {
  if command -v xz >/dev/null; then xz -dc; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.stdin.buffer), sys.stdout.buffer)'; fi
}
xz_stream() {
  if command -v xz >/dev/null; then xz -6 -T0 -c; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(sys.stdin.buffer, lzma.open(sys.stdout.buffer, "w", preset=6))'; fi
}

# part NAME LIMIT [timeout options] -- COMMAND...: runs COMMAND under `timeout`, records its status and seconds. Its
# own lines go to stderr, so that COMMAND's output alone can be redirected.
part() {
  local name=$1 limit=$2 t0=$SECONDS status opts=()
  shift 2
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  echo "== $name (at most ${limit} s; $(left) s of the call left)" >&2
  timeout "${opts[@]}" "$limit" "$@"
  status=$?
  printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - t0))" >> "$RESULTS/parts.tsv"
  [ "$status" -eq 124 ] && echo "$name: stopped at its time limit (${limit} s)" >&2
  return "$status"
}

unpack() {
  local t0=$SECONDS
  echo "== unpack into $RUN"
  rm -rf "$RUN" && mkdir -p "$RUN/bin" "$APP" "$RUN/sysroot" "$RESULTS" "$RUN/xdg" && chmod 700 "$RUN/xdg" || return 1
  (cd "$PACK" && sha256sum -c --quiet SHA256SUMS) || { echo "the pack is damaged (sha256 differs): run npm run gpu:pack again"; return 1; }
  unxz_stream < "$PACK/node.xz" > "$RUN/bin/node" && chmod +x "$RUN/bin/node" || return 1
  unxz_stream < "$PACK/app.tar.xz" | tar -x -C "$APP" || return 1
  unxz_stream < "$PACK/input.txt.xz" > "$RUN/input.txt" || return 1
  command -v dpkg-deb >/dev/null || { echo "dpkg-deb is missing: cannot unpack the Vulkan loader's package"; return 1; }
  for deb in "$PACK"/debs/*.deb; do dpkg-deb -x "$deb" "$RUN/sysroot" || return 1; done
  printf 'unpack\t0\t%s\n' "$((SECONDS - t0))" >> "$RESULTS/parts.tsv"
  echo "Node $(node_run --version), $(ls "$PACK"/debs | tr '\n' ' ')in $((SECONDS - t0)) s"
}

# The environment every Node part runs in: the packed Vulkan loader first, the GPU driver's manifest, a private
# runtime directory for Dawn, the webgpu backend, the packed dataset.
environment() {
  local lib="$RUN/sysroot/usr/lib/x86_64-linux-gnu"
  for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$dir" ] && lib="$lib:$dir"; done
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; break; fi
    done
  fi
  echo "Vulkan driver: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-none named (the loader searches its own folders)}}"
  command -v nvidia-smi >/dev/null && nvidia-smi -L
  export XDG_RUNTIME_DIR="$RUN/xdg" GPT_BACKEND=webgpu TINYSHAKESPEARE_PATH="$RUN/input.txt" PYTHON="${PYTHON:-python3}"
}

# The Vulkan driver's library (its manifest's library_path) and any library it needs that cannot be found.
driver_library() {
  local icd="${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-}}" lib found=""
  [ -f "$icd" ] || return 0
  lib=$(sed -n 's/.*"library_path" *: *"\([^"]*\)".*/\1/p' "$icd")
  if [[ "$lib" == /* ]]; then found=$lib; else
    for dir in ${LD_LIBRARY_PATH//:/ }; do [ -e "$dir/$lib" ] && { found="$dir/$lib"; break; }; done
    [ -n "$found" ] || found=$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l { print $NF; exit }')
  fi
  if [ -z "$found" ]; then echo "the driver's library $lib is not found (not on LD_LIBRARY_PATH, not known to ldconfig)"; return 0; fi
  echo "the driver's library: $found"
  command -v ldd >/dev/null && { ldd "$found" | grep "not found" || echo "every library it needs is found"; }
}

adapter() {
  local flags=(--results "$RESULTS")
  [ "${GPU_RUN_ALLOW_SOFTWARE:-0}" = 1 ] && flags+=(--allow-software)
  part adapter "$(max 30 "$(min 90 $(($(left) - RESERVE)))")" -k 10 -- "$RUN/bin/node" "$APP/bench/dist/gpu/adapter.js" "${flags[@]}" && return 0
  driver_library
  echo "the Vulkan loader's own messages:"
  VK_LOADER_DEBUG=error,warn,driver timeout -k 10 60 "$RUN/bin/node" "$APP/bench/dist/gpu/adapter.js" "${flags[@]}" 2>&1 | head -60
  return 1
}

timing() {
  local limit
  limit=$(min 300 $((($(left) - RESERVE) / 2))) # at most half the time before the reserve: the rest is training's
  if [ "$TIMING_STEPS" = 0 ]; then echo "== timing left out (GPU_RUN_TIMING_STEPS=0)"; return 0; fi
  if [ "$limit" -lt 20 ]; then echo "== timing left out: $limit s would remain for it"; return 0; fi
  part timing "$limit" -k 10 -- "$RUN/bin/node" "$APP/bench/dist/gpu/step-time.js" \
    --steps "$TIMING_STEPS" --warmup "$TIMING_WARMUP" --device "$TORCH_DEVICE" --results "$RESULTS" "${TRAIN_ARGS[@]}"
}

# Expands the previous call's state (.gpu-pack/resume/resume.xz.*) into the model directory; prints --resume when
# there is one to continue, nothing for a fresh run, "done" when the run is already complete.
resume_from_pack() {
  compgen -G "$PACK/resume/resume.xz.*" >/dev/null || return 0
  cat "$PACK"/resume/resume.xz.* | unxz_stream > "$RUN/resume.bin" || { echo "the resume state in .gpu-pack/resume is damaged" >&2; return 1; }
  part expand 120 -k 10 -- "$RUN/bin/node" "$APP/bench/dist/gpu/resume-state.js" expand "$RUN/resume.bin" "$MODEL" --results "$RESULTS" >&2 || return 1
  if grep -q '"done": true' "$RESULTS/resume.json"; then echo done; else echo --resume; fi
}

train() {
  local resume limit
  resume=$(resume_from_pack) || return 1
  if [ "$resume" = done ]; then echo "== train: the run is already done"; return 0; fi
  limit=$(($(left) - RESERVE))
  if [ "$limit" -lt 30 ]; then echo "== train left out: $limit s would remain for it"; return 0; fi
  # SIGINT at the limit: the train command stops at the next step, saves its model directory and exits with 130.
  part train "$limit" -s INT --preserve-status -k 90 -- "$RUN/bin/node" "$APP/bench/dist/gpu/train.js" --results "$RESULTS" --every 30 \
    -- "${TRAIN_ARGS[@]}" --out "$MODEL" $resume
  local status=$?
  [ "$status" -eq 0 ] || [ "$status" -eq 130 ]
}

sample() {
  local limit status
  [ -f "$MODEL/config.json" ] || return 0
  limit=$(min 90 $(($(left) - 10)))
  if [ "$limit" -lt 10 ]; then echo "== sample left out: $limit s would remain for it"; return 0; fi
  part sample "$limit" -k 10 -- "$RUN/bin/node" "$APP/node_modules/@build-gpt/lib/dist/cli/sample.js" --out "$MODEL" --max-new-tokens "$SAMPLE_CHARS" > "$RESULTS/sample.txt"
  status=$?
  head -c 300 "$RESULTS/sample.txt"; echo " [...]"
  return "$status"
}

# The model directory as the next call's resume state, compressed and cut into parts that come back from $OUT; where
# there is none (nothing saved), the pack's own state goes back, so that the next call loses nothing. It comes before
# the sample: of what a call returns, it is what the next call cannot do without. It may use the call's spare time.
state() {
  local flags=()
  grep -qs '"done": true' "$RESULTS/train.json" "$RESULTS/resume.json" && flags+=(--done)
  if [ -f "$MODEL/config.json" ] && part state "$(max 60 "$(min 120 "$(left)")")" -k 10 -- "$RUN/bin/node" "$APP/bench/dist/gpu/resume-state.js" compact "$MODEL" "$RUN/resume.next" "${flags[@]}"; then
    xz_stream < "$RUN/resume.next" | split -b "$PART_BYTES" -d -a 2 - "$OUT/resume.xz." || return 1
  elif compgen -G "$PACK/resume/resume.xz.*" >/dev/null; then
    echo "no new state: the pack's state goes back unchanged"
    cp "$PACK"/resume/resume.xz.* "$OUT/"
  fi
}

outputs() {
  for f in losses.tsv sample.txt; do [ -f "$RESULTS/$f" ] && cp "$RESULTS/$f" "$OUT/"; done
  echo "== summary"
  node_run "$APP/bench/dist/gpu/summary.js" --results "$RESULTS" --out "$OUT/summary.json"
  echo "files in $OUT:"
  (cd "$OUT" && ls -l | tail -n +2)
  local count
  count=$(ls "$OUT" | wc -l)
  [ "$count" -le 8 ] || echo "WARNING: $count files in \$OUT: the tool returns 8 at most"
  if compgen -G "$OUT/resume.xz.*" >/dev/null; then
    echo "for the next call: npm run gpu:resume -- FOLDER (the folder these files came back to: they replace .gpu-pack/resume/)"
  fi
}

main() {
  echo "GPU run: $(date -u +%FT%TZ), budget ${BUDGET} s, pack $PACK, results $OUT"
  unpack || { echo "STOP: the pack could not be unpacked"; return 1; }
  environment
  adapter || { echo "STOP: no GPU adapter (see the reason above)"; outputs; return 1; }
  timing || echo "the timing failed (see above); training goes on"
  local status=0
  train || { echo "the training failed (see above)"; status=1; }
  state || { echo "the resume state could not be written"; status=1; }
  sample || echo "the sample failed (see above)"
  outputs
  echo "GPU run: $((SECONDS - START)) s in all"
  return "$status"
}

case "$RUN" in / | "$HOME" | "$PWD" | "$PACK") echo "GPU_RUN_DIR=$RUN would be emptied: name a folder of its own"; exit 1 ;; esac
mkdir -p "$OUT" "$RUN" || exit 1
rm -f "$OUT"/resume.xz.* # an earlier call's parts, where $OUT is reused, would join this call's
main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
