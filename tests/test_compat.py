"""The interpret-community facade: the Azure ML interpretability how-to, imports changed.

Each ``test_howto_*`` runs one code block of the how-to ("Use the Python interpretability
package to explain ML models & predictions", azureml v1) with the interpret-community
imports replaced by ``explainable_pipeline.compat``, then checks the shapes and
properties interpret-community documents. The only other changes: the SVC is trained
once in a fixture, ``OneHotEncoder(sparse=False)`` is spelled ``sparse_output=False``
(renamed in scikit-learn 1.2), the raw-feature examples run on the bundled
palmerpenguins data (the how-to leaves its dataset open). The single-row test outside
the how-to's blocks lowers the Kernel SHAP budget with ``n_samples`` to stay fast.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from explainable_pipeline._explanation import MissingExplanationPartError
from explainable_pipeline.compat import (
    CompatGlobalExplanation,
    CompatLocalExplanation,
    DecisionTreeExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    MimicExplainer,
    PFIExplainer,
    SGDExplainableModel,
    TabularExplainer,
)

N_FEATURES = 30  # breast cancer


@pytest.fixture(scope="module")
def howto():
    """Step 2 of the how-to: train the sample model."""
    # load breast cancer dataset, a well-known small dataset that comes with scikit-learn
    from sklearn import svm
    from sklearn.datasets import load_breast_cancer

    breast_cancer_data = load_breast_cancer()
    classes = breast_cancer_data.target_names.tolist()

    # split data into train and test
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        breast_cancer_data.data, breast_cancer_data.target, test_size=0.2, random_state=0
    )
    with warnings.catch_warnings():  # SVC(probability=True) is deprecated in scikit-learn 1.9
        warnings.simplefilter("ignore", FutureWarning)
        clf = svm.SVC(gamma=0.001, C=100.0, probability=True)
        model = clf.fit(x_train, y_train)
    return dict(
        breast_cancer_data=breast_cancer_data,
        classes=classes,
        x_train=x_train,
        x_test=x_test,
        y_train=y_train,
        y_test=y_test,
        model=model,
    )


def _global_block(explainer, x_test):
    """The how-to's "explain the entire model behavior" block."""
    # you can use the training data or the test data here
    global_explanation = explainer.explain_global(x_test)

    # sorted feature importance values and feature names
    sorted_global_importance_values = global_explanation.get_ranked_global_values()
    sorted_global_importance_names = global_explanation.get_ranked_global_names()
    ranked = dict(zip(sorted_global_importance_names, sorted_global_importance_values))

    # alternatively, you can print out a dictionary that holds the top K feature names and values
    importance_dict = global_explanation.get_feature_importance_dict()

    # per class feature names and importance values
    per_class_names = global_explanation.get_ranked_per_class_names()
    per_class_values = global_explanation.get_ranked_per_class_values()
    return global_explanation, ranked, importance_dict, per_class_names, per_class_values


def _local_block(explainer, x_test):
    """The how-to's "explain an individual prediction" block."""
    # get explanation for the first data point in the test set
    local_explanation = explainer.explain_local(x_test[0:5])

    # sorted feature importance values and feature names
    sorted_local_importance_names = local_explanation.get_ranked_local_names()
    sorted_local_importance_values = local_explanation.get_ranked_local_values()
    return local_explanation, sorted_local_importance_names, sorted_local_importance_values


def _check_global(res, names, classes):
    global_explanation, ranked, importance_dict, per_class_names, per_class_values = res
    assert isinstance(global_explanation, CompatGlobalExplanation)
    assert sorted(ranked) == sorted(names)
    values = list(ranked.values())
    assert values == sorted(values, reverse=True) and min(values) >= 0
    assert list(importance_dict) == list(ranked)  # same ranking, ordered dict
    assert len(per_class_names) == len(classes) and len(per_class_values) == len(classes)
    assert all(sorted(row) == sorted(names) for row in per_class_names)
    # interpret-community's aggregation: overall = mean over classes of mean |local|
    per_class = np.asarray(global_explanation.per_class_values)
    np.testing.assert_allclose(per_class.mean(axis=0), global_explanation.global_importance_values)


def _check_local(res, n_features, classes, predict_output):
    local_explanation, names, values = res
    assert isinstance(local_explanation, CompatLocalExplanation)
    v = np.asarray(local_explanation.local_importance_values)
    assert v.shape == (len(classes), 5, n_features)  # [class][row][feature]
    assert np.asarray(local_explanation.expected_values).shape == (len(classes),)
    assert local_explanation.classes == classes
    assert np.asarray(names).shape == (len(classes), 5, n_features)
    assert all(row == sorted(row, reverse=True) for per_class in values for row in per_class)
    # local accuracy: values + expected value per class == the explained output
    total = v.sum(-1) + np.asarray(local_explanation.expected_values)[:, None]
    np.testing.assert_allclose(total, predict_output, atol=1e-6)


# --------------------------------------------------------------------------- the how-to
def test_howto_tabular_explainer(howto):
    breast_cancer_data, classes = howto["breast_cancer_data"], howto["classes"]
    model, x_train, x_test = howto["model"], howto["x_train"], howto["x_test"]

    # "features" and "classes" fields are optional
    explainer = TabularExplainer(
        model,
        x_train,
        features=breast_cancer_data.feature_names,
        classes=classes,
    )
    assert explainer.pipeline_.explainer_ == "kernel"  # the model-agnostic raw-space method
    names = list(breast_cancer_data.feature_names)
    _check_global(_global_block(explainer, x_test), names, classes)
    res = _local_block(explainer, x_test)
    _check_local(res, N_FEATURES, classes, model.predict_proba(x_test[0:5]).T)
    assert res[0].features == names


def test_howto_single_row_local(howto):
    """A 1-D row explains to [class][feature] (no row axis), features named 0..n-1 by default."""
    explainer = TabularExplainer(howto["model"], howto["x_train"], classes=howto["classes"],
                                 n_samples=100, random_state=0)  # fmt: skip
    local_explanation = explainer.explain_local(howto["x_test"][0])
    assert np.asarray(local_explanation.local_importance_values).shape == (2, N_FEATURES)
    assert local_explanation.features == list(range(N_FEATURES))  # no names given


def test_howto_mimic_explainer(howto):
    breast_cancer_data, classes = howto["breast_cancer_data"], howto["classes"]
    model, x_train, x_test = howto["model"], howto["x_train"], howto["x_test"]

    # augment_data is optional and if true, oversamples the initialization examples to
    # improve surrogate model accuracy to fit original model.
    explainer = MimicExplainer(
        model,
        x_train,
        LGBMExplainableModel,
        augment_data=True,
        max_num_of_augmentations=10,
        features=breast_cancer_data.feature_names,
        classes=classes,
    )
    names = list(breast_cancer_data.feature_names)
    res = _global_block(explainer, x_test)
    _check_global(res, names, classes)
    # augmented rows are off the data manifold: a loose floor (the tight one: test_mimic_pfi)
    assert res[0].fidelity["agreement"] >= 0.85 and res[0].fidelity["r2"] >= 0.6
    local = _local_block(explainer, x_test)
    # interpret-community's binary surrogate learns log-odds: the attributions add up to
    # them, the negative class's to their negation, and expit gives the probability
    log_odds = explainer.surrogate_model.predict(x_test[0:5])
    _check_local(local, N_FEATURES, classes, np.vstack([-log_odds, log_odds]))
    assert local[0].explanation.output == "log_odds"


@pytest.mark.parametrize(
    "explainable_model",
    [
        LinearExplainableModel,
        SGDExplainableModel,
        DecisionTreeExplainableModel,
        DecisionTreeExplainableModel(max_depth=3),
    ],  # fmt: skip
    ids=["linear", "sgd", "tree", "tree-instance"],
)
def test_howto_mimic_other_surrogates(howto, explainable_model):
    # LGBMExplainableModel can be replaced with LinearExplainableModel, SGDExplainableModel,
    # or DecisionTreeExplainableModel
    # augment_data defaults to True as in interpret-community; off here so that the
    # fidelity floor is about the surrogate, not about off-manifold augmented rows
    if explainable_model is SGDExplainableModel:
        # as in interpret-community, SGD learns from the raw columns, whose scales differ by
        # four orders of magnitude here: it cannot fit, and says so
        with pytest.warns(UserWarning, match="SGD needs columns of comparable scale"):
            explainer = MimicExplainer(howto["model"], howto["x_train"], explainable_model,
                                       augment_data=False, classes=howto["classes"])  # fmt: skip
    else:
        explainer = MimicExplainer(howto["model"], howto["x_train"], explainable_model,
                                   augment_data=False, classes=howto["classes"],
                                   random_state=0)  # fmt: skip
    local_explanation = explainer.explain_local(howto["x_test"][0:5])
    assert np.asarray(local_explanation.local_importance_values).shape == (2, 5, N_FEATURES)
    if explainable_model is not SGDExplainableModel:  # over the test rows, not 5 of them
        assert explainer.explain_global(howto["x_test"]).fidelity["agreement"] >= 0.8
    if isinstance(explainable_model, DecisionTreeExplainableModel):
        assert explainer.surrogate_model.model.get_depth() <= 3


def test_howto_pfi_explainer(howto):
    breast_cancer_data, classes = howto["breast_cancer_data"], howto["classes"]
    model, x_train, y_train = howto["model"], howto["x_train"], howto["y_train"]

    # "features" and "classes" fields are optional
    explainer = PFIExplainer(model, features=breast_cancer_data.feature_names, classes=classes)

    # if you used the PFIExplainer in the previous step, use the next line of code instead
    global_explanation = explainer.explain_global(x_train, true_labels=y_train)

    sorted_global_importance_values = global_explanation.get_ranked_global_values()
    sorted_global_importance_names = global_explanation.get_ranked_global_names()
    ranked = dict(zip(sorted_global_importance_names, sorted_global_importance_values))
    importance_dict = global_explanation.get_feature_importance_dict()

    assert list(importance_dict) == list(ranked)
    assert sorted(ranked) == sorted(breast_cancer_data.feature_names)
    assert global_explanation.method == "pfi" and global_explanation.std.shape == (N_FEATURES,)
    with pytest.raises(MissingExplanationPartError):  # PFI has no per-class values
        global_explanation.get_ranked_per_class_names()
    # PFIExplainer does not support local explanations
    with pytest.raises(ValueError, match="global only"):
        explainer.explain_local(howto["x_test"][0:5])
    with pytest.raises(TypeError, match="true_labels"):  # a required argument, as there
        explainer.explain_global(x_train)


# --------------------------------------------------------------------------- raw features
@pytest.fixture(scope="module")
def penguins():
    df = load_penguins().dropna(subset=["bill_length_mm"]).reset_index(drop=True)
    y = df.pop("species").astype(object).to_numpy()
    df["island"] = df["island"].astype(object)
    df["sex"] = df["sex"].astype(object)
    x_train, x_test, y_train, y_test = train_test_split(df, y, test_size=0.2, random_state=0)
    return dict(
        x_train=x_train,
        x_test=x_test,
        y_train=y_train,
        numeric_features=["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"],
        categorical_features=["island", "sex"],
        dataset_feature_names=list(df.columns),
    )


def _column_transformer_howto(p):
    """The how-to's ColumnTransformer raw-feature block (data from the fixture)."""
    numeric_features, categorical_features = p["numeric_features"], p["categorical_features"]
    x_train, y_train = p["x_train"][numeric_features + categorical_features], p["y_train"]
    dataset_feature_names = numeric_features + categorical_features
    dataset_classes = sorted(set(y_train))

    numeric_transformer = Pipeline(steps=[
        ('imputer', SimpleImputer(strategy='median')),
        ('scaler', StandardScaler())])  # fmt: skip

    categorical_transformer = Pipeline(steps=[
        ('imputer', SimpleImputer(strategy='constant', fill_value='missing')),
        ('onehot', OneHotEncoder(handle_unknown='ignore'))])  # fmt: skip

    preprocessor = ColumnTransformer(
        transformers=[
            ('num', numeric_transformer, numeric_features),
            ('cat', categorical_transformer, categorical_features)])  # fmt: skip

    # append classifier to preprocessing pipeline.
    # now we have a full prediction pipeline.
    clf = Pipeline(steps=[('preprocessor', preprocessor),
                          ('classifier', LogisticRegression(solver='lbfgs'))])  # fmt: skip
    clf.fit(x_train, y_train)  # (implied by the how-to)

    # clf.steps[-1][1] returns the trained classification model
    # pass transformation as an input to create the explanation object
    # "features" and "classes" fields are optional
    tabular_explainer = TabularExplainer(clf.steps[-1][1],
                                         initialization_examples=x_train,
                                         features=dataset_feature_names,
                                         classes=dataset_classes,
                                         transformations=preprocessor)  # fmt: skip
    return tabular_explainer, clf, x_train


def _tuples_howto(p):
    """The how-to's list-of-fitted-transformer-tuples block (sklearn-pandas)."""
    from explainable_pipeline._sklearn_compat import load_sklearn_pandas

    try:
        DataFrameMapper = load_sklearn_pandas().DataFrameMapper
    except ImportError:
        pytest.skip("sklearn-pandas is not installed (extra: pandas-mapper)")
    numerical, categorical = p["numeric_features"], p["categorical_features"]
    x_train, y_train = p["x_train"][numerical + categorical], p["y_train"]
    dataset_feature_names = numerical + categorical
    dataset_classes = sorted(set(y_train))

    # assume that we have created two arrays, numerical and categorical, which holds the
    # numerical and categorical feature names
    numeric_transformations = [([f], Pipeline(steps=[('imputer', SimpleImputer(
        strategy='median')), ('scaler', StandardScaler())])) for f in numerical]  # fmt: skip

    categorical_transformations = [([f], OneHotEncoder(
        handle_unknown='ignore', sparse_output=False)) for f in categorical]  # fmt: skip

    transformations = numeric_transformations + categorical_transformations

    # append model to preprocessing pipeline.
    # now we have a full prediction pipeline.
    clf = Pipeline(steps=[('preprocessor', DataFrameMapper(transformations)),
                          ('classifier', LogisticRegression(solver='lbfgs'))])  # fmt: skip
    clf.fit(x_train, y_train)  # (implied by the how-to)

    # clf.steps[-1][1] returns the trained classification model
    # pass transformation as an input to create the explanation object
    # "features" and "classes" fields are optional
    tabular_explainer = TabularExplainer(clf.steps[-1][1],
                                         initialization_examples=x_train,
                                         features=dataset_feature_names,
                                         classes=dataset_classes,
                                         transformations=transformations)  # fmt: skip
    return tabular_explainer, clf, x_train


@pytest.mark.parametrize("howto_block", [_column_transformer_howto, _tuples_howto],
                         ids=["column_transformer", "tuples"])  # fmt: skip
def test_howto_raw_feature_transformations(penguins, howto_block):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "X has feature names, but ..."
        explainer, clf, x_train = howto_block(penguins)
        rows = x_train.iloc[:8]
        local = explainer.explain_local(rows)
    raw = penguins["numeric_features"] + penguins["categorical_features"]
    classes = sorted(set(penguins["y_train"]))
    assert local.features == raw and local.is_raw  # one value per raw column, not per one-hot
    assert local.classes == classes
    assert np.asarray(local.local_importance_values).shape == (3, 8, len(raw))
    assert explainer.pipeline_.explainer_ == "linear"  # LogisticRegression: the closed form
    # additive to the pipeline's log-odds (decision_function) per class
    total = local.values.sum(-1) + np.asarray(local.expected_values)[:, None]
    np.testing.assert_allclose(total, clf.decision_function(rows).T, atol=1e-8)
    glob = explainer.explain_global(x_train)
    assert sorted(glob.get_ranked_global_names()) == sorted(raw)
    assert len(glob.get_ranked_per_class_names()) == 3


def test_both_transformation_forms_agree(penguins):
    """Per-column scalers and one-hot encoders: both forms give the same raw attributions."""
    ct_explainer, _, x_train = _column_transformer_howto(penguins)
    tuple_explainer, _, _ = _tuples_howto(penguins)
    rows = x_train.iloc[:10]
    a, b = ct_explainer.explain_local(rows), tuple_explainer.explain_local(rows)
    np.testing.assert_allclose(a.values, b.values, atol=1e-2)
    assert a.get_ranked_local_names()[0][0][0] == b.get_ranked_local_names()[0][0][0]


def test_whole_pipeline_model_matches_transformations(penguins):
    """A whole fitted Pipeline as the model explains its raw columns like transformations=."""
    explainer, clf, x_train = _column_transformer_howto(penguins)
    whole = TabularExplainer(clf, x_train, classes=explainer.classes)
    rows = x_train.iloc[:6]
    np.testing.assert_allclose(
        whole.explain_local(rows).values, explainer.explain_local(rows).values, atol=1e-12
    )


def test_nothing_is_refitted(penguins):
    explainer, clf, x_train = _column_transformer_howto(penguins)
    coef = clf[-1].coef_.copy()
    mean = clf[0].named_transformers_["num"]["scaler"].mean_.copy()
    MimicExplainer(clf[-1], x_train.iloc[:40], LinearExplainableModel, transformations=clf[0])
    assert explainer.pipeline_.estimator_ is clf[-1]
    assert explainer.pipeline_.preprocessor_ is clf[0]
    np.testing.assert_array_equal(clf[-1].coef_, coef)
    np.testing.assert_array_equal(clf[0].named_transformers_["num"]["scaler"].mean_, mean)


def test_mimic_facade_pickles(penguins):
    explainer, clf, x_train = _column_transformer_howto(penguins)
    mimic = MimicExplainer(clf, x_train, DecisionTreeExplainableModel, random_state=0)
    rows = x_train.iloc[:5]
    before = mimic.explain_local(rows)
    loaded = pickle.loads(pickle.dumps(mimic))
    after = loaded.explain_local(rows)
    np.testing.assert_array_equal(before.values, after.values)
    assert after.meta["fidelity"] == before.meta["fidelity"]


def test_bad_arguments():
    data = load_breast_cancer()
    lr = LogisticRegression(max_iter=50).fit(data.data[:, :3], data.target)
    with pytest.raises(ValueError, match="features has 2 names"):
        TabularExplainer(lr, data.data[:50, :3], features=["a", "b"]).explain_local(
            data.data[:2, :3]
        )
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        TabularExplainer(lr, data.data[:50, :3], use_cuda=True)
    with pytest.raises(ValueError, match="use_gpu=True is not supported"):
        TabularExplainer(lr, data.data[:50, :3], use_gpu=True)
    with pytest.raises(TypeError, match="explainable_model"):
        MimicExplainer(lr, data.data[:50, :3], object())
    with pytest.raises(TypeError, match="transformations"):
        TabularExplainer(lr, pd.DataFrame(data.data[:50, :3]), transformations=42)
