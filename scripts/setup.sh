#!/usr/bin/env bash
# One-time set-up on a fresh machine: a virtual environment with every dependency and the
# project installed editable (so `streamlit run` and the `deep-emotion` command find it).
#
#   bash scripts/setup.sh                 # Python packages only (enough for the dashboard)
#   bash scripts/setup.sh --with-browser  # plus Debian's chromium for the browser tests
#
# Safe to re-run: an existing .venv is reused and pip skips what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

if [[ "${1:-}" == "--with-browser" ]] && [[ ! -x /usr/bin/chromium ]]; then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium
fi

[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
.venv/bin/python -m pip install -q --no-deps -e .
