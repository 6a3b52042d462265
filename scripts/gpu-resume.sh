#!/usr/bin/env bash
# npm run gpu:resume -- FOLDER: puts the resume state a GPU call returned (FOLDER/resume.xz.00, .01, ...) into
# .gpu-pack/resume/, replacing the one there, for the next call to continue from (docs/gpu.md). Checks first that the
# parts join into one whole compressed state, so that a part left behind is found here, not on the GPU machine.
#   bash scripts/gpu-resume.sh FOLDER [PACK]   (PACK: default .gpu-pack; the rehearsal names its own copy)
set -euo pipefail
from="${1:?Give the folder the files of the call came back to: npm run gpu:resume -- FOLDER}"
pack="${2:-$(cd "$(dirname "$0")/.." && pwd)/.gpu-pack}"
shopt -s nullglob
parts=("$from"/resume.xz.[0-9][0-9])
[ ${#parts[@]} -gt 0 ] || { echo "gpu:resume: no resume.xz.00 in $from: the call returned no state (see its log.txt)"; exit 1; }
[ -d "$pack" ] || { echo "gpu:resume: no $pack: run npm run gpu:pack first"; exit 1; }
for i in "${!parts[@]}"; do
  [ "${parts[$i]}" = "$from/resume.xz.$(printf %02d "$i")" ] || { echo "gpu:resume: resume.xz.$(printf %02d "$i") is missing in $from"; exit 1; }
done
cat "${parts[@]}" | xz -t || { echo "gpu:resume: the parts in $from do not join into a whole state: copy every part the call returned"; exit 1; }
rm -rf "$pack/resume"
mkdir -p "$pack/resume"
cp "${parts[@]}" "$pack/resume/"
echo "gpu:resume: $(basename -a "${parts[@]}" | tr '\n' ' ')($(du -ch "${parts[@]}" | tail -1 | cut -f1)) in $pack/resume: the next call continues from them"
