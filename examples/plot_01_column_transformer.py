"""
Raw-column explanations of a ColumnTransformer pipeline
=======================================================

A penguin's species is predicted from seven raw columns, numeric and categorical, some of them
missing. The preprocessing (imputation, scaling, one-hot encoding) turns them into ten
engineered columns, and the model only ever sees those. :class:`~explainable_pipeline.ExplainablePipeline`
explains the model in the words of the seven raw columns: a raw column's attribution is the sum
of its engineered children's, so nothing is lost and the totals agree exactly.
"""

# %%
# The data and the pipeline
# -------------------------
import numpy as np
import palmerpenguins
from lightgbm import LGBMClassifier
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline

penguins = palmerpenguins.load_penguins()
X, y = penguins.drop(columns="species"), penguins["species"].astype(str)
numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
categorical = ["island", "sex"]
preprocessor = ColumnTransformer(
    [
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
    ]
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
ep = ExplainablePipeline(preprocessor, LGBMClassifier(n_estimators=100, num_leaves=8, verbose=-1))
ep.fit(X_train, y_train)
print(f"accuracy {ep.score(X_test, y_test):.3f}, explainer {ep.explainer_!r}")

# %%
# The engineered -> raw map
# -------------------------
# ``feature_map_`` says which raw column each engineered column comes from.
ep.feature_map_.to_frame()

# %%
# Global importance of the raw columns
# ------------------------------------
# Mean absolute attribution per raw column (averaged over the three classes), ranked, with
# the importance for each class.
glob = ep.explain_global(X_test)
glob.to_dataframe()

# %%
glob.plot("global")

# %%
# One row, per class
# ------------------
# The tree explainer explains the model's margin (log-odds per class). For every class,
# the attributions of a row plus the expected value give the model's output for that row.
local = ep.explain_local(X_test.iloc[:5])
print(local.output, local.local_importance_values.shape)  # (classes, rows, raw columns)
explained = local.local_importance_values.sum(-1).T + np.asarray(local.expected_values)
raw_score = ep.estimator_.predict(ep.preprocessor_.transform(X_test.iloc[:5]), raw_score=True)
print("attributions + expected value == raw score:", np.allclose(explained, raw_score))
local.to_dataframe().head(7)

# %%
local.plot("local", row=0)

# %%
# The same rows in engineered columns
# -----------------------------------
# ``space="engineered"`` gives the preprocessor's output columns instead. Summing each raw
# column's children gives back the raw explanation exactly.
engineered = ep.explain_local(X_test.iloc[:5], space="engineered")
print(engineered.features)
print("same totals:", np.allclose(engineered.local_importance_values.sum(-1),
                                  local.local_importance_values.sum(-1)))

# %%
# A beeswarm of every test row
# ----------------------------
# Each point is one row; the colour is the feature's value (low: blue, high: red).
ep.explain_local(X_test).plot("summary", class_index=list(ep.classes_).index("Gentoo"))
