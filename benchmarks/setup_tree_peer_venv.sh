#!/usr/bin/env bash
# Create benchmarks/.venv-tree: the TreeSHAP peers benchmarks/tree_raw.py compares against
# (woodelf-explainer, fasttreeshap-fixed, shap, LightGBM), run in a subprocess; the peer
# columns are skipped when it is absent. Kept apart from the project venv so their pins
# (numpy, shap) cannot change what the project is tested with.
# Usage: bash benchmarks/setup_tree_peer_venv.sh [python]   (default: python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-tree"
python="${1:-python3}"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "woodelf-explainer==0.4.8" "fasttreeshap-fixed==0.1.5" \
    "shap>=0.46" lightgbm pandas scikit-learn
"$venv/bin/python" -c "import woodelf, fasttreeshap_fixed, shap, lightgbm; print('woodelf', woodelf.__version__, 'shap', shap.__version__, 'lightgbm', lightgbm.__version__)"
