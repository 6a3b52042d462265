#!/usr/bin/env bash
# npm run gpu:rehearse — the GPU run (docs/gpu.md) rehearsed here: the pack (npm run gpu:pack, which the npm script
# runs first) and scripts/gpu-run.sh, in two calls as the device tool makes them, each in a fresh folder holding the
# pack alone, with no Node on PATH (every program of /usr/bin and /usr/sbin but node, npm, npx and corepack), no
# environment beyond the run's settings, and SwiftShader (software Vulkan) as the adapter. SwiftShader takes most of
# a second for a step of even a small model, so the model is small (one layer of 32), the calls short (a training
# window of under a minute: a few tens of steps), the evaluations one batch, the sample 20 characters. PyTorch is timed on
# the CPU where /usr/bin/python3 has it, and left out with a line where it has not.
#   call 1: starts afresh; its training window closes (SIGINT) long before its steps run out;
#   call 2: continues from call 1's returned resume.xz.* copied into .gpu-pack/resume/, as docs/gpu.md tells the
#           caller to, and runs to the end (its --max-iters is 10 steps past call 1's last).
# Checks each call's files ($OUT: at most 8, each at most 16 MiB; the log, summary.json, losses.tsv, the sample, the
# resume state) and that call 2 continued where call 1 stopped. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ -f .gpu-pack/gpu-run.sh ] || { echo "no .gpu-pack: run npm run gpu:pack first (npm run gpu:rehearse does)"; exit 1; }

# The rehearsal's model and schedule: small enough for SwiftShader, the same options gpt.py's run takes.
MODEL="--n-embd 32 --n-head 2 --n-layer 1 --block-size 16 --batch-size 4 --eval-interval 10 --eval-iters 1"
FIRST_ITERS=100000
SECOND_STEPS=10
CALL_SECONDS=150
RESERVE=60
SAMPLE_CHARS=20

swiftshader() {
  for icd in "${GPT_SWIFTSHADER_ICD:-}" /usr/lib/chromium/vk_swiftshader_icd.json; do [ -n "$icd" ] && [ -f "$icd" ] && { echo "$icd"; return; }; done
  for pkg in chromium-common chromium; do
    local icd
    icd=$(dpkg -L "$pkg" 2>/dev/null | grep 'vk_swiftshader_icd.json$' | head -1 || true)
    [ -n "$icd" ] && [ -f "$icd" ] && { echo "$icd"; return; }
  done
  return 1
}
ICD=$(swiftshader) || { echo "no SwiftShader (vk_swiftshader_icd.json): apt-get install chromium"; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/home" "$WORK/tmp"
for f in /usr/bin/* /usr/sbin/*; do
  case "$(basename "$f")" in node | nodejs | npm | npx | corepack) continue ;; esac
  [ -e "$WORK/bin/$(basename "$f")" ] || ln -s "$f" "$WORK/bin/$(basename "$f")"
done
if PATH="$WORK/bin" command -v node >/dev/null; then echo "the bare PATH still finds node"; exit 1; fi

fail() { echo "REHEARSAL FAILED: $*"; exit 1; }
# json FILE EXPRESSION: the expression's value, `s` being the parsed file (Node here, outside the bare calls).
json() { node -e 'const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval(process.argv[2]))' "$1" "$2"; }

# The caller's pack: a copy of .gpu-pack without its resume/ (a real run's state, which the rehearsal leaves alone).
mkdir -p "$WORK/pack"
(cd .gpu-pack && tar -cf - --exclude=./resume .) | tar -xf - -C "$WORK/pack"

# call N OVERRIDES: one device call: a fresh folder holding a copy of the caller's pack, as the tool carries it.
call() {
  local n=$1 overrides=$2 dir="$WORK/machine$1"
  mkdir -p "$dir" && cp -r "$WORK/pack" "$dir/.gpu-pack"
  echo "=== call $n: $overrides"
  local status=0
  (cd "$dir" && env -i HOME="$WORK/home" PATH="$WORK/bin" TMPDIR="$WORK/tmp" OUT="$WORK/out$n" VK_ICD_FILENAMES="$ICD" PYTHON=/usr/bin/python3 \
    GPU_RUN_DIR="$WORK/run$n" GPU_RUN_SECONDS=$CALL_SECONDS GPU_RUN_RESERVE=$RESERVE GPU_RUN_OVERRIDES="$overrides" GPU_RUN_TIMING_STEPS=2 \
    GPU_RUN_TIMING_WARMUP=1 GPU_RUN_SAMPLE_CHARS=$SAMPLE_CHARS GPU_RUN_TORCH_DEVICE=cpu GPU_RUN_ALLOW_SOFTWARE=1 bash .gpu-pack/gpu-run.sh) || status=$?
  [ "$status" -eq 0 ] || fail "call $n exited with $status"
}

# check_outputs N: the files a call returns, within the tool's limits.
check_outputs() {
  local out="$WORK/out$1"
  for f in log.txt summary.json losses.tsv sample.txt resume.xz.00; do [ -s "$out/$f" ] || fail "call $1 returned no $f"; done
  [ "$(ls "$out" | wc -l)" -le 8 ] || fail "call $1 returned more than 8 files"
  for f in "$out"/*; do [ "$(stat -c %s "$f")" -le $((16 * 1024 * 1024)) ] || fail "call $1: $f is over 16 MiB"; done
  [ "$(wc -m < "$out/sample.txt")" -ge $SAMPLE_CHARS ] || fail "call $1's sample is shorter than $SAMPLE_CHARS characters"
  [ "$(json "$out/summary.json" 's.adapter.software')" = true ] || fail "call $1 did not run on SwiftShader"
  [ "$(json "$out/summary.json" 's.timing.ours.medianMs > 0')" = true ] || fail "call $1 timed no step of ours"
  [ "$(json "$out/summary.json" 'Number.isFinite(s.val.val)')" = true ] || fail "call $1 has no final val"
}

START=$SECONDS
call 1 "$MODEL --max-iters $FIRST_ITERS"
check_outputs 1
[ "$(json "$WORK/out1/summary.json" 's.training.interrupted')" = true ] || fail "call 1 was not stopped by its time limit"
STOP=$(json "$WORK/out1/summary.json" 's.training.endStep')
[ "$STOP" -gt 0 ] || fail "call 1 trained no step"

# What the caller does between two calls (docs/gpu.md): npm run gpu:resume -- FOLDER, into the caller's pack.
bash scripts/gpu-resume.sh "$WORK/out1" "$WORK/pack"
call 2 "$MODEL --max-iters $((STOP + SECOND_STEPS))"
check_outputs 2
[ "$(json "$WORK/out2/summary.json" 's.resumed.step')" = "$STOP" ] || fail "call 2 did not resume at call 1's step $STOP"
[ "$(json "$WORK/out2/summary.json" 's.training.startStep')" = "$STOP" ] || fail "call 2's training did not start at step $STOP"
[ "$(json "$WORK/out2/summary.json" 's.done && s.training.endStep')" = $((STOP + SECOND_STEPS)) ] || fail "call 2 did not finish the run at step $((STOP + SECOND_STEPS))"
head -n "$(wc -l < "$WORK/out1/losses.tsv")" "$WORK/out2/losses.tsv" | cmp -s - "$WORK/out1/losses.tsv" || fail "call 2's loss log does not begin with call 1's"
grep -q '"done":true\|"done": true' <(xz -dc "$WORK"/out2/resume.xz.* | head -c 4096 | tail -c +9) || fail "call 2's resume state is not marked done"

echo "=== rehearsal passed in $((SECONDS - START)) s: call 1 stopped at step $STOP, call 2 resumed there and finished at step $((STOP + SECOND_STEPS))"
for n in 1 2; do echo "call $n returned: $(cd "$WORK/out$n" && ls | tr '\n' ' ')"; done
