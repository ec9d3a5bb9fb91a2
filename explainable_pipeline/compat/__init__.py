"""interpret-community / azureml-interpret compatible explainers on :class:`ExplainablePipeline`.

Code written for interpret-community runs with only its import lines changed::

    from explainable_pipeline.compat import (
        TabularExplainer, MimicExplainer, PFIExplainer, LGBMExplainableModel,
    )

Each explainer wraps an **already fitted** model (and preprocessing) in
:class:`sklearn.frozen.FrozenEstimator`, so nothing is refitted, fits an
:class:`ExplainablePipeline` (which only reads the fitted objects and keeps a background
summary) and returns :class:`CompatLocalExplanation` / :class:`CompatGlobalExplanation`:
this library's explanations (``.explanation``) presented with interpret-community's
semantics (lists, ``expected_values`` per class, ``is_raw``, integer default feature
names, ``method`` strings such as ``shap_tree`` or ``mimic.lightgbm``, ``data(key)``).

Modules: ``_constants`` (ModelTask, ShapValuesOutput, ExplainParams, SamplingPolicy, ...),
``_inputs`` (examples, models, transformations), ``_explanation`` (the compat
explanations), ``_explainers`` (Tabular, Kernel, Linear, Tree, Mimic), ``_surrogates``
(explainable models), ``_pfi`` (PFIExplainer), ``_io`` (interpret-community folders) and
``_scoring`` (azureml-interpret's scoring explainers). Differences from
interpret-community are listed in ``docs/compat.md``.
"""

from ._constants import (
    SMALL_DATA_THRESHOLD,
    ExplainParams,
    ExplainType,
    InterpretData,
    MetricConstants,
    ModelTask,
    ResetIndex,
    SamplingPolicy,
    ScenarioNotSupportedException,
    ShapValuesOutput,
)
from ._explainers import (
    KernelExplainer,
    LinearExplainer,
    MimicExplainer,
    TabularExplainer,
    TreeExplainer,
)
from ._explanation import CompatGlobalExplanation, CompatLocalExplanation
from ._inputs import DatasetWrapper, summarize_data
from ._io import load_explanation, save_explanation
from ._pfi import PFIExplainer
from ._scoring import (
    KernelScoringExplainer,
    LinearScoringExplainer,
    TreeScoringExplainer,
    load,
    save,
)
from ._surrogates import (
    DecisionTreeExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    SGDExplainableModel,
)

__all__ = [
    "SMALL_DATA_THRESHOLD",
    "CompatGlobalExplanation",
    "CompatLocalExplanation",
    "DatasetWrapper",
    "DecisionTreeExplainableModel",
    "ExplainParams",
    "ExplainType",
    "InterpretData",
    "KernelExplainer",
    "KernelScoringExplainer",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "LinearExplainer",
    "LinearScoringExplainer",
    "MetricConstants",
    "MimicExplainer",
    "ModelTask",
    "PFIExplainer",
    "ResetIndex",
    "SGDExplainableModel",
    "SamplingPolicy",
    "ScenarioNotSupportedException",
    "ShapValuesOutput",
    "TabularExplainer",
    "TreeExplainer",
    "TreeScoringExplainer",
    "load",
    "load_explanation",
    "save",
    "save_explanation",
    "summarize_data",
]
