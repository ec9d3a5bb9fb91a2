"""
Explaining one prediction to a non-technical reader
===================================================

A reader who is not a data scientist wants to know *why* the model said what it said about
one case, in units they understand. Here the model guesses a penguin's species, and we explain
one penguin in **percentage points of probability**, column by column, as a sentence and as a
waterfall chart (shap's ``waterfall`` plot, fed by
:meth:`~explainable_pipeline.LocalExplanation.to_shap`).

``explainer="exact"`` computes exact Shapley values with the seven raw columns as players,
through the whole pipeline, on the predicted probabilities: the contributions add up exactly
from the average prediction to this penguin's prediction.
"""

# %%
# The model
# ---------
import matplotlib.pyplot as plt
import numpy as np
import palmerpenguins
import shap
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OrdinalEncoder

from explainable_pipeline import ExplainablePipeline

penguins = palmerpenguins.load_penguins()
X, y = penguins.drop(columns="species"), penguins["species"].astype(str)
preprocessor = ColumnTransformer(
    [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                            encoded_missing_value=-1), ["island", "sex"])],
    remainder="passthrough",
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
ep = ExplainablePipeline(preprocessor, HistGradientBoostingClassifier(max_iter=50, random_state=0),
                         explainer="exact", model_output="probability", random_state=0)
ep.fit(X_train, y_train)

# %%
# One penguin, in plain words
# ---------------------------
penguin = X_test.iloc[[3]]
local = ep.explain_local(penguin)
probabilities = ep.predict_proba(penguin)[0]
k = int(np.argmax(probabilities))
species = ep.classes_[k]
contributions = local.local_importance_values[k, 0]  # this class, this row, per raw column
average = np.asarray(local.expected_values)[k]

lines = [f"The model gives this penguin a {probabilities[k]:.0%} chance of being a {species}; "
         f"for an average penguin it says {average:.0%}."]


def readable(column: str) -> str:
    """flipper_length_mm -> flipper length (mm)"""
    for unit in ("mm", "g"):
        if column.endswith(f"_{unit}"):
            column = f"{column[: -len(unit) - 1]} ({unit})"
    return column.replace("_", " ")


for j in np.argsort(-np.abs(contributions))[:3]:
    name, value = local.features[j], penguin[local.features[j]].iloc[0]
    verb = "adds" if contributions[j] > 0 else "takes away"
    lines.append(f"  - its {readable(name)}, {value}, {verb} "
                 f"{abs(contributions[j]) * 100:.0f} percentage points")
rest = contributions.sum() - contributions[np.argsort(-np.abs(contributions))[:3]].sum()
lines.append(f"  - the other columns together: {rest * 100:+.0f} points")
print("\n".join(lines))
print("check:", np.isclose(average + contributions.sum(), probabilities[k]))

# %%
# The same story as a waterfall
# -----------------------------
# From the average prediction at the bottom to this penguin's prediction at the top, each
# bar is one raw column, labelled with this penguin's value.
shap.plots.waterfall(local.to_shap(class_index=k)[0], show=False)
plt.title(f"Why the model says {species}")
plt.tight_layout()
