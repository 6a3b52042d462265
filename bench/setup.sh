#!/usr/bin/env bash
# npm run setup:bench — optional: a current PyTorch (2.x, with its bundled MKL/oneDNN) for `npm run bench` to compare
# against, in a project-local virtual environment, .venv-bench (git-ignored). Nothing else needs it: not the tests, not
# the lessons. `npm run bench` also times Debian's python3-torch when that is installed. Remove with: rm -rf .venv-bench
#   TORCH_VERSION=2.15.0 PYTHON=python3 npm run setup:bench
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_VERSION="${TORCH_VERSION:-2.15.0}"
NUMPY_VERSION="${NUMPY_VERSION:-2.2.6}"
PYTHON="${PYTHON:-python3}"
CPU_INDEX="https://download.pytorch.org/whl/cpu"

"$PYTHON" -m venv .venv-bench
pip=(.venv-bench/bin/python -m pip install --disable-pip-version-check)
# PyTorch's CPU-only wheels (about 200 MB) where their index answers; otherwise the default wheel from PyPI (it also
# carries CUDA libraries, a few GB, unused here).
if .venv-bench/bin/python -c "import urllib.request; urllib.request.urlopen('$CPU_INDEX/torch/', timeout=10)" 2>/dev/null; then
  "${pip[@]}" "torch==$TORCH_VERSION" --index-url "$CPU_INDEX"
else
  echo "PyTorch's CPU wheel index is not reachable: installing torch==$TORCH_VERSION from PyPI (includes CUDA libraries)."
  "${pip[@]}" "torch==$TORCH_VERSION"
fi
"${pip[@]}" "numpy==$NUMPY_VERSION"  # torch imports it if present; pinned so a run repeats
.venv-bench/bin/python -c "import torch; print('PyTorch', torch.__version__, 'in .venv-bench: npm run bench will time it, eager and torch.compile')"
