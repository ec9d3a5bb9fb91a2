"""
Grid search, then deploy the model with its explainer
=====================================================

:class:`~explainable_pipeline.ExplainablePipeline` is a scikit-learn estimator: it clones and
grid-searches like any other, over the estimator's parameters and the explainer's. The best
model is then saved (a skops file that refuses types you did not trust), loaded elsewhere, and
scores rows with their explanations in one JSON-ready call,
:meth:`~explainable_pipeline.ExplainablePipeline.predict_and_explain` (what the HTTP service
of :doc:`/docs/deploy` returns).
"""

# %%
# Search over the model's and the explainer's parameters
# ------------------------------------------------------
import json
import tempfile
from pathlib import Path

import palmerpenguins
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline import ExplainablePipeline, load, save
from explainable_pipeline.persistence import get_untrusted_types, read_metadata

penguins = palmerpenguins.load_penguins()
X, y = penguins.drop(columns="species"), penguins["species"].astype(str)
numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
preprocessor = ColumnTransformer(
    [
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), ["island", "sex"]),
    ]
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
search = GridSearchCV(
    ExplainablePipeline(preprocessor, LogisticRegression(max_iter=1000)),
    {"estimator__C": [0.01, 0.1, 1.0], "model_output": ["margin", "probability"]},
    cv=3,
)
search.fit(X_train, y_train)
print(search.best_params_, f"test accuracy {search.score(X_test, y_test):.3f}")
best = search.best_estimator_
print(f"explainer {best.explainer_!r}")

# %%
# Save, inspect and load safely
# -----------------------------
# A skops file is loaded only with the types you trust: list them first, read them, then
# pass them. The file also records the library versions it was saved with.
folder = Path(tempfile.mkdtemp())
path = save(best, folder / "penguins.skops", format="skops")
untrusted = get_untrusted_types(path)
print(f"{path.name}: {path.stat().st_size / 1e3:.0f} kB; types to trust: {untrusted}")
print({k: v for k, v in read_metadata(path).items() if k in ("format", "versions")})
model = load(path, trusted=untrusted)

# %%
# Predict and explain in one call
# -------------------------------
# The predictions, probabilities and the top three raw columns of each row for every class:
# plain JSON types, ready to return from a web service.
answer = model.predict_and_explain(X_test.iloc[:2], top_k=3)
print(sorted(answer))
for row, label in enumerate(answer["predictions"]):
    k = answer["classes"].index(label)
    names, values = answer["ranked_local_names"][k][row], answer["ranked_local_values"][k][row]
    top = {name: round(value, 2) for name, value in zip(names, values)}
    print(f"row {row}: {label} (p={answer['probabilities'][row][k]:.2f}), "
          f"{answer['output']} pushed up by {json.dumps(top)}")

# %%
# The first row's explanation for its predicted class (red pushes towards it, blue away).
model.explain_local(X_test.iloc[:1]).plot("local")

# %%
# The loaded model explains exactly as the one that was saved.
same = best.explain_local(X_test.iloc[:20]).local_importance_values
print("identical after load:",
      (model.explain_local(X_test.iloc[:20]).local_importance_values == same).all())
