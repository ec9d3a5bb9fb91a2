#!/usr/bin/env bash
# Create benchmarks/.venv-ic: interpret-community 0.32 with the shap it pins, the peer that
# benchmarks/mimic_pfi.py compares against (run in a subprocess; skipped when absent).
# Usage: bash benchmarks/setup_peer_venv.sh [python]   (default: python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-ic"
python="${1:-python3}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
# interpret-community pins its own shap (and numpy/scikit-learn ranges): let pip resolve them.
"$venv/bin/python" -m pip install --quiet "interpret-community==0.32.*" lightgbm
"$venv/bin/python" -c "import interpret_community, shap, sklearn; print('interpret-community', interpret_community.__version__, 'shap', shap.__version__, 'scikit-learn', sklearn.__version__)"
