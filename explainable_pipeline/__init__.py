"""explainable-pipeline: scikit-learn models that explain themselves in raw input columns."""

from ._explanation import GlobalExplanation, LocalExplanation
from ._feature_map import FeatureMap, MixedFeatureError, build_feature_map
from ._pipeline import ExplainablePipeline

__version__ = "0.1.0"

__all__ = [
    "ExplainablePipeline",
    "FeatureMap",
    "GlobalExplanation",
    "LocalExplanation",
    "MixedFeatureError",
    "build_feature_map",
    "__version__",
]
