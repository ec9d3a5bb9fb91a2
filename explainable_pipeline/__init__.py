"""explainable-pipeline: scikit-learn models that explain themselves in raw input columns."""

from ._explanation import GlobalExplanation, LocalExplanation
from ._explanation_io import load_explanation
from ._feature_map import FeatureMap, MixedFeatureError
from ._feature_map_build import build_feature_map
from ._interaction_explanation import InteractionExplanation
from ._pipeline import ExplainablePipeline
from ._progress import quiet_notebook_fallback as _quiet_notebook_fallback
from ._sklearn_compat import load_sklearn_pandas
from .persistence import load, save

_quiet_notebook_fallback()  # Jupyter without ipywidgets: text progress bars, no warning

__version__ = "0.1.0"

__all__ = [
    "ExplainablePipeline",
    "FeatureMap",
    "GlobalExplanation",
    "InteractionExplanation",
    "LocalExplanation",
    "MixedFeatureError",
    "build_feature_map",
    "load",
    "load_explanation",
    "load_sklearn_pandas",
    "save",
    "__version__",
]
