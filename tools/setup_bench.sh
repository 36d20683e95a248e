#!/usr/bin/env bash
# The side-by-side serving benchmark's extra parts: a separate virtual environment (.venv-peers)
# for BentoML and LitServe, which pin many packages and so stay out of .venv, and wrk, the load
# generator. torch is pinned to the CPU build that pip's configured find-links holds: any other
# version would pull a CUDA build of several GB. Safe to run again: a marker file records a
# finished install.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS_VENV:-.venv-peers}
MARKER="$PEERS/.installed"
# scikit-learn as in .venv: the peers load the same joblib file of the wine model.
SKLEARN=$(.venv/bin/python -c 'import sklearn; print(sklearn.__version__)' 2>/dev/null || echo "")
PACKAGES=(bentoml==1.4.40 litserve==0.2.19 torch==2.13.0 "scikit-learn${SKLEARN:+==$SKLEARN}" pandas joblib)

if [ ! -f "$MARKER" ]; then
  echo "setup_bench: installing ${PACKAGES[*]} into $PEERS …"
  python3 -m venv "$PEERS"
  "$PEERS/bin/python" -m pip install --quiet --upgrade pip
  "$PEERS/bin/python" -m pip install --quiet "${PACKAGES[@]}"
  "$PEERS/bin/python" -c 'import bentoml, litserve, torch, sklearn, pandas, joblib'
  touch "$MARKER"
fi

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup_bench: the benchmark needs wrk; install it (as root): apt-get install -y wrk" >&2
    exit 1
  fi
  echo "setup_bench: installing wrk …"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
