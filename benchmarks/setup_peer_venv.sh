#!/usr/bin/env bash
# Create a peer venv for the benchmarks, run in a subprocess (its columns are skipped when absent):
#   bash benchmarks/setup_peer_venv.sh [ic] [python]   -> benchmarks/.venv-ic: interpret-community
#       0.32 with the shap it pins (benchmarks/mimic_pfi.py)
#   bash benchmarks/setup_peer_venv.sh tree [python]   -> benchmarks/.venv-tree: woodelf-explainer
#       0.4.8, fasttreeshap-fixed 0.1.5, shap, LightGBM (benchmarks/tree_raw.py)
# Kept apart from the project venv so the peers' pins cannot change what the project is tested with.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
peer="ic"
if [ "${1:-}" = "ic" ] || [ "${1:-}" = "tree" ]; then peer="$1"; shift; fi
python="${1:-python3}"
venv="$here/.venv-$peer"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ "$peer" = "ic" ]; then
  # interpret-community pins its own shap (and numpy/scikit-learn ranges): let pip resolve them.
  "$venv/bin/python" -m pip install --quiet "interpret-community==0.32.*" lightgbm
  "$venv/bin/python" -c "import interpret_community, shap, sklearn; print('interpret-community', interpret_community.__version__, 'shap', shap.__version__, 'scikit-learn', sklearn.__version__)"
else
  "$venv/bin/python" -m pip install --quiet "woodelf-explainer==0.4.8" "fasttreeshap-fixed==0.1.5" \
      "shap>=0.46" lightgbm pandas scikit-learn
  "$venv/bin/python" -c "import woodelf, fasttreeshap_fixed, shap, lightgbm; print('woodelf', woodelf.__version__, 'shap', shap.__version__, 'lightgbm', lightgbm.__version__)"
fi
