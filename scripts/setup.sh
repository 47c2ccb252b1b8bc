#!/usr/bin/env bash
# Set up mlxbench in ./.venv: the package, MLX for this platform, the demo models.
#   scripts/setup.sh          the app
#   scripts/setup.sh --dev    the app plus test and lint tools
# On Linux it also installs a system OpenBLAS when it can (root + apt-get): MLX's CPU wheel
# ships a slow reference BLAS and mlxbench loads OpenBLAS in its place when present.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="cpu"
[ "$(uname -s)" = "Darwin" ] && extras=""
if [ "${1:-}" = "--dev" ]; then extras="${extras:+$extras,}dev"; fi

if [ "$(uname -s)" = "Linux" ] && ! ldconfig -p 2>/dev/null | grep -q libopenblas; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "== installing OpenBLAS (Debian libopenblas0-pthread)"
    apt-get update -qq && apt-get install -y -qq libopenblas0-pthread >/dev/null
  else
    echo "== note: no system OpenBLAS; embeddings will run on MLX's slower reference BLAS"
  fi
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
echo "== installing mlxbench[${extras}]"
.venv/bin/python -m pip install -q -e ".[${extras}]"
echo "== installing the demo models"
.venv/bin/mlxbench demo install
