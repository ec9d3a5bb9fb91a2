"""
The Azure ML interpretability how-to, through ``compat``
========================================================

The Azure Machine Learning how-to "Use the Python interpretability package to explain ML
models & predictions" (interpret-community) runs here with only its import lines changed to
:mod:`explainable_pipeline.compat`. The model is the how-to's support vector machine on the
breast-cancer data, written as scikit-learn >= 1.9 asks for it:
``CalibratedClassifierCV(SVC(gamma=0.001, C=100.), ensemble=False)`` in place of the
deprecated ``SVC(gamma=0.001, C=100., probability=True)`` (both are an SVC whose probabilities
come from Platt scaling). See :doc:`/docs/compat` for what differs from interpret-community.
"""

# %%
# Train the sample model
# ----------------------
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

# was: from interpret.ext.blackbox import TabularExplainer, MimicExplainer, PFIExplainer
# was: from interpret.ext.glassbox import LGBMExplainableModel
from explainable_pipeline.compat import (
    LGBMExplainableModel,
    MimicExplainer,
    PFIExplainer,
    TabularExplainer,
)

breast_cancer_data = load_breast_cancer()
classes = breast_cancer_data.target_names.tolist()
x_train, x_test, y_train, y_test = train_test_split(
    breast_cancer_data.data, breast_cancer_data.target, test_size=0.2, random_state=0
)
clf = CalibratedClassifierCV(SVC(gamma=0.001, C=100.0), ensemble=False)
model = clf.fit(x_train, y_train)

# %%
# Explain the entire model behaviour (global)
# -------------------------------------------
# ``TabularExplainer`` picks the method from the model: an SVM has neither trees nor
# coefficients, so it computes Shapley values over the 30 raw columns (KernelSHAP).
explainer = TabularExplainer(model, x_train, features=breast_cancer_data.feature_names,
                             classes=classes)
global_explanation = explainer.explain_global(x_test)

sorted_global_importance_values = global_explanation.get_ranked_global_values()
sorted_global_importance_names = global_explanation.get_ranked_global_names()
dict(zip(sorted_global_importance_names[:5], sorted_global_importance_values[:5]))

# %%
global_explanation.get_feature_importance_dict(top_k=5)

# %%
global_explanation.plot("global", top_k=10)

# %%
# Explain an individual prediction (local)
# ----------------------------------------
local_explanation = explainer.explain_local(x_test[0:5])
sorted_local_importance_names = local_explanation.get_ranked_local_names()
sorted_local_importance_values = local_explanation.get_ranked_local_values()
# [class][row][rank]: the three columns that push row 0 most towards "benign"
benign = classes.index("benign")
print(sorted_local_importance_names[benign][0][:3])
print(sorted_local_importance_values[benign][0][:3])

# %%
# The surrogate (mimic) and permutation (PFI) explainers
# ------------------------------------------------------
# A LightGBM surrogate trained on the model's probabilities, explained exactly; ``fidelity``
# says how closely it follows the model.
mimic = MimicExplainer(model, x_train, LGBMExplainableModel,
                       features=breast_cancer_data.feature_names, classes=classes)
mimic_global = mimic.explain_global(x_test)
print(mimic_global.fidelity)
mimic_global.get_feature_importance_dict(top_k=5)

# %%
pfi = PFIExplainer(model, features=breast_cancer_data.feature_names, classes=classes)
pfi.explain_global(x_test, true_labels=y_test).get_feature_importance_dict(top_k=5)
