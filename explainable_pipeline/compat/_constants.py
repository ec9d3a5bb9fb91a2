"""interpret-community's public constants and small input types, under the same names.

Code that passes ``model_task=ModelTask.Classification``,
``shap_values_output=ShapValuesOutput.PROBABILITY``, ``**{ExplainParams.SAMPLING_POLICY: ...}``
or reads ``explanation.data()[InterpretData.SCORES]`` keeps working. The string values are
interpret-community's (they are its API); everything else here is this library's own.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "SMALL_DATA_THRESHOLD",
    "ExplainParams",
    "ExplainType",
    "InterpretData",
    "MetricConstants",
    "ModelTask",
    "ResetIndex",
    "SamplingPolicy",
    "ScenarioNotSupportedException",
    "ShapValuesOutput",
]

#: interpret-community's MimicExplainer name for "few initialization rows" (rows below it).
SMALL_DATA_THRESHOLD = 50


class ScenarioNotSupportedException(ValueError):
    """A request interpret-community also refuses (e.g. a replication measure on one row)."""


class ModelTask(str, Enum):
    """What the model does: inferred from it when ``Unknown``."""

    Classification = "classification"
    Regression = "regression"
    Unknown = "unknown"


class ShapValuesOutput(str, Enum):
    """The output space of the attributions of TabularExplainer / MimicExplainer.

    ``DEFAULT``: the explainer's natural space (margin for trees and linear models,
    probability for the model-agnostic method, the surrogate's output for mimic);
    ``PROBABILITY`` / ``TEACHER_PROBABILITY``: class probabilities; ``RAW``: the margin.
    """

    DEFAULT = "default"
    PROBABILITY = "probability"
    TEACHER_PROBABILITY = "teacher_probability"
    RAW = "raw"


class ResetIndex(str, Enum):
    """How MimicExplainer treats a DataFrame's index (``reset_index=``)."""

    Ignore = "ignore"
    Reset = "reset"
    ResetTeacher = "reset_teacher"


class MetricConstants(str, Enum):
    """Metric names accepted by ``PFIExplainer(metric=...)``."""

    MEAN_ABSOLUTE_ERROR = "mean_absolute_error"
    EXPLAINED_VARIANCE_SCORE = "explained_variance_score"
    MEAN_SQUARED_ERROR = "mean_squared_error"
    MEAN_SQUARED_LOG_ERROR = "mean_squared_log_error"
    MEDIAN_ABSOLUTE_ERROR = "median_absolute_error"
    R2_SCORE = "r2_score"
    AVERAGE_PRECISION_SCORE = "average_precision_score"
    F1_SCORE = "f1_score"
    FBETA_SCORE = "fbeta_score"
    PRECISION_SCORE = "precision_score"
    RECALL_SCORE = "recall_score"


class ExplainType:
    """Keys of interpret-community's explanation metadata."""

    CLASSIFICATION = "classification"
    DATA = "data_type"
    EXPLAIN = "explain_type"
    GLOBAL = "global"
    IS_ENG = "is_engineered"
    IS_RAW = "is_raw"
    LOCAL = "local"
    METHOD = "method"
    MIMIC = "mimic"
    MODEL = "model_type"
    MODEL_CLASS = "model_class"
    MODEL_TASK = "model_task"
    PFI = "pfi"
    REGRESSION = "regression"
    SHAP = "shap"
    SHAP_KERNEL = "shap_kernel"
    SHAP_LINEAR = "shap_linear"
    SHAP_TREE = "shap_tree"
    TABULAR = "tabular"


class ExplainParams:
    """Parameter and explanation attribute names (``explain_global(**{...})``, ``getattr``)."""

    BATCH_SIZE = "batch_size"
    CHECK_ADDITIVITY = "check_additivity"
    CLASSES = "classes"
    CLASSIFICATION = "classification"
    EVAL_DATA = "eval_data"
    EVAL_Y_PRED = "eval_y_predicted"
    EVAL_Y_PRED_PROBA = "eval_y_predicted_proba"
    EXPECTED_VALUES = "expected_values"
    EXPLAIN_SUBSET = "explain_subset"
    EXPLANATION_ID = "explanation_id"
    FEATURES = "features"
    GLOBAL_IMPORTANCE_NAMES = "global_importance_names"
    GLOBAL_IMPORTANCE_VALUES = "global_importance_values"
    GLOBAL_IMPORTANCE_RANK = "global_importance_rank"
    GLOBAL_NAMES = "global_names"
    GLOBAL_VALUES = "global_values"
    GLOBAL_RANK = "global_rank"
    ID = "id"
    INCLUDE_LOCAL = "include_local"
    INIT_DATA = "init_data"
    IS_ENG = "is_engineered"
    IS_LOCAL_SPARSE = "is_local_sparse"
    IS_RAW = "is_raw"
    LOCAL_EXPLANATION = "local_explanation"
    LOCAL_IMPORTANCE_VALUES = "local_importance_values"
    METHOD = "method"
    MODEL_ID = "model_id"
    MODEL_TASK = "model_task"
    MODEL_TYPE = "model_type"
    NUM_CLASSES = "num_classes"
    NUM_EXAMPLES = "num_examples"
    NUM_FEATURES = "num_features"
    PER_CLASS_NAMES = "per_class_names"
    PER_CLASS_RANK = "per_class_rank"
    PER_CLASS_VALUES = "per_class_values"
    PROBABILITIES = "probabilities"
    SAMPLING_POLICY = "sampling_policy"
    SHAP_VALUES_OUTPUT = "shap_values_output"

    @classmethod
    def get_serializable(cls) -> set:
        """The attribute-name constants (``"GLOBAL_IMPORTANCE_VALUES"``, ...)."""
        return {k for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}

    @classmethod
    def get_private(cls, explain_param: str) -> str:
        """The private attribute holding ``explain_param`` (``"_" + name``)."""
        return "_" + explain_param


class InterpretData:
    """Keys of ``explanation.data(key)`` (the interpret ``mli`` layout)."""

    BASE_VALUE = "Base Value"
    EXPLANATION_TYPE = "explanation_type"
    EXPLANATION_CLASS_DIMENSION = "explanation_class_dimension"
    FEATURE_LIST = "feature_list"
    GLOBAL_FEATURE_IMPORTANCE = "global_feature_importance"
    INTERCEPT = "intercept"
    LOCAL_FEATURE_IMPORTANCE = "local_feature_importance"
    MLI = "mli"
    MULTICLASS = "multiclass"
    NAMES = "names"
    OVERALL = "overall"
    PERF = "perf"
    SCORES = "scores"
    SINGLE = "single"
    SPECIFIC = "specific"
    TYPE = "type"
    UNIVARIATE = "univariate"
    VALUE = "value"
    VALUES = "values"


class SamplingPolicy:
    """How ``explain_global`` may sample the evaluation rows (interpret-community's policy).

    Parameters
    ----------
    allow_eval_sampling : bool, default=False
        Explain at most ``max_dim_clustering`` rows of the evaluation examples.
    max_dim_clustering : int, default=50
        The number of rows kept when sampling.
    sampling_method : {"hdbscan", "kmeans", "random"}, default="hdbscan"
        Accepted for compatibility. Rows are kept as a uniform random sample of real
        evaluation rows whatever the method (see docs/compat.md).
    """

    def __init__(self, allow_eval_sampling: bool = False, max_dim_clustering: int = 50,
                 sampling_method: str = "hdbscan") -> None:  # fmt: skip
        self.allow_eval_sampling = allow_eval_sampling
        self.max_dim_clustering = max_dim_clustering
        self.sampling_method = sampling_method

    def __repr__(self) -> str:
        return (
            f"SamplingPolicy(allow_eval_sampling={self.allow_eval_sampling}, "
            f"max_dim_clustering={self.max_dim_clustering}, "
            f"sampling_method={self.sampling_method!r})"
        )
