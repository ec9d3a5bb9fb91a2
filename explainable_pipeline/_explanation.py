"""Explanation result objects: :class:`LocalExplanation` and :class:`GlobalExplanation`.

Every explainer returns these, and every consumer (plots, store, service, the
interpret-community facade) reads them. They depend on numpy and pandas only; ``shap``
is imported inside :meth:`LocalExplanation.to_shap` only.

Rankings follow one rule, in :mod:`._ranking` (``rank_by="signed"|"abs"``).

The dictionary returned by ``to_dict`` is the single source of truth for persistence;
its layout is versioned by ``"format_version"`` (:data:`FORMAT_VERSION`).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._codec import _dec_data, _dec_floats, _enc_data, _enc_floats, _float_array
from ._explanation_checks import _check_shape, _labels, _n_rows_of, _plain, _str_param
from ._ranking import _ranked, rank_order

__all__ = [
    "FORMAT_VERSION",
    "AdditivityWarning",
    "GlobalExplanation",
    "LocalExplanation",
    "MissingExplanationPartError",
]

FORMAT_VERSION = 1
_SPACES = ("raw", "engineered")


class MissingExplanationPartError(AttributeError):
    """Raised when an accessor needs a part the explanation does not carry.

    For example the local accessors of a :class:`GlobalExplanation` built without a local
    explanation, or per-class accessors of a single-output explanation. It subclasses
    ``AttributeError`` so ``hasattr`` duck typing (as interpret-community does) keeps working.
    """


class AdditivityWarning(UserWarning):
    """Local values plus expected values do not add up to the predictions."""


def _global_meta(local_meta: dict) -> dict:
    """A local explanation's meta without its per-row entries (``standard_errors``)."""
    return {k: v for k, v in local_meta.items() if k != "standard_errors"}


# --------------------------------------------------------------------------- JSON codec
_FLOATS = (_enc_floats, _dec_floats)
_EXPECTED = (
    lambda ev: ev if ev is None or isinstance(ev, float) else _enc_floats(ev),
    lambda ev: np.asarray(ev, dtype=float) if isinstance(ev, list) else ev,
)
_PLAIN = (lambda x: _plain(x, "field"), lambda x: x)  # _plain copies dicts and lists
_GROUPS = (  # pairs, not a dict: JSON would turn int group names into str keys
    lambda g: None if g is None else [[k, list(cols)] for k, cols in g.items()],
    lambda pairs: None if pairs is None else {k: cols for k, cols in pairs},
)
_COMMON_FIELDS = dict.fromkeys(["method", "space", "output", "features", "classes", "meta"], _PLAIN)
_COMMON_FIELDS.update(values=_FLOATS, expected_values=_EXPECTED)


# --------------------------------------------------------------------------- base
class _Explanation:
    """Names, flags, validation and global/per-class accessors shared by both classes."""

    _KIND = ""
    _FIELDS: dict = {}

    def _init_common(self, features: Any, n_features: int, method: Any, space: Any, output: Any,
                     meta: Any) -> None:  # fmt: skip
        self._features = _labels(features, "features", (str, int))
        if len(self._features) != n_features:
            raise ValueError(
                f"features has {len(self._features)} names but values has {n_features} features "
                f"(last axis of shape {self.values.shape})."
            )
        self.method = _str_param(method, "method")
        if space not in _SPACES:
            raise ValueError(f"space must be one of {_SPACES}; got {space!r}.")
        self.space = space
        self.output = _str_param(output, "output")
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"meta must be a dict; got {type(meta).__name__}.")
        self.meta = _plain(dict(meta or {}), "meta")

    @property
    def features(self) -> list:
        """Feature names, in the order of the last axis of the values."""
        return list(self._features)

    @property
    def classes(self) -> list | None:
        """Class labels in model output order, or None when not named / single output."""
        return None if self._classes is None else list(self._classes)

    @property
    def is_raw(self) -> bool:
        """True when the features are the raw input columns (or groups of them)."""
        return self.space == "raw"

    @property
    def is_engineered(self) -> bool:
        """True when the features are the preprocessor's output columns."""
        return self.space == "engineered"

    @property
    def num_features(self) -> int:
        """Number of features."""
        return len(self._features)

    def _class_labels(self, n_classes: int) -> list:
        return self.classes if self._classes is not None else list(range(n_classes))

    def _global_values(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def _per_class(self) -> np.ndarray | None:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def global_importance_values(self) -> np.ndarray:
        """Overall importance per feature, in feature order, shape (n_features,)."""
        return self._global_values()

    @property
    def global_importance_rank(self) -> list:
        """Feature indices sorted by overall importance (see the ranking rule)."""
        return rank_order(self._global_values()).tolist()

    def get_ranked_global_names(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Feature names by overall importance, highest first; ``top_k`` keeps the first k.

        ``rank_by``: ``"signed"`` or ``"abs"`` (see the module's ranking rule).
        """
        return _ranked(self._global_values(), self._features, top_k, rank_by)[0]

    def get_ranked_global_values(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Overall importances sorted highest first; ``top_k`` keeps the first k."""
        return _ranked(self._global_values(), self._features, top_k, rank_by)[1]

    def get_feature_importance_dict(
        self, top_k: int | None = None, rank_by: str = "signed"
    ) -> dict:
        """Ordered dict ``name -> overall importance``, ranked highest first."""
        names, values = _ranked(self._global_values(), self._features, top_k, rank_by)
        return dict(zip(names, values, strict=True))

    @property
    def per_class_values(self) -> np.ndarray | None:
        """Importance per class, shape (n_classes, n_features); None for a single output."""
        return self._per_class()

    def _require_per_class(self) -> np.ndarray:
        pc = self._per_class()
        if pc is None:
            raise MissingExplanationPartError(
                f"This {type(self).__name__} has no per-class values (single-output model, "
                "or a global explanation built without them)."
            )
        return pc

    @property
    def per_class_rank(self) -> list:
        """Per class, feature indices sorted by that class's importance."""
        return rank_order(self._require_per_class()).tolist()

    def get_ranked_per_class_names(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Per class, feature names sorted by that class's importance (list of lists)."""
        return _ranked(self._require_per_class(), self._features, top_k, rank_by)[0]

    def get_ranked_per_class_values(
        self, top_k: int | None = None, rank_by: str = "signed"
    ) -> list:
        """Per class, importances sorted highest first (list of lists)."""
        return _ranked(self._require_per_class(), self._features, top_k, rank_by)[1]

    def plot(self, kind: str = "global", **kwargs: Any) -> Any:
        """Static matplotlib plot; returns the ``Axes`` (matplotlib is imported lazily).

        ``kind`` is "global", "local", "summary" or "dependence"; keyword arguments
        (``top_k``, ``row``, ``class_index``, ``feature``, ``color``, ``ax``) are those of
        :func:`explainable_pipeline._plot.plot_explanation`.
        """
        from ._plot import plot_explanation

        return plot_explanation(self, kind, **kwargs)

    def to_dict(self) -> dict:
        """Return a JSON-ready dict (lists, floats, str) that ``from_dict`` reverses exactly.

        Floats stay floats (NaN -> None, inf -> "inf"); ``data`` keeps its dtypes, index and
        column names. ``json.dumps(exp.to_dict())`` works.
        """
        out = {"format_version": FORMAT_VERSION, "kind": self._KIND}
        for name, (encode, _) in self._FIELDS.items():
            out[name] = encode(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, d: dict) -> Any:
        """Rebuild an explanation from ``to_dict`` output (checks ``format_version``)."""
        if not isinstance(d, dict):
            raise TypeError(f"from_dict expects a dict; got {type(d).__name__}.")
        version = d.get("format_version")
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise ValueError(
                f"Unsupported explanation format_version {version!r}; this version of "
                f"explainable-pipeline reads 1..{FORMAT_VERSION}. Upgrade the library to read it."
            )
        if d.get("kind") != cls._KIND:
            raise ValueError(
                f"{cls.__name__}.from_dict needs kind {cls._KIND!r}; got {d.get('kind')!r}."
            )
        missing = [k for k in ("values", "features", "method", "space", "output") if k not in d]
        if missing:
            raise ValueError(f"Explanation dict lacks the keys {missing}.")
        return cls(**{name: decode(d.get(name)) for name, (_, decode) in cls._FIELDS.items()})

    def save(self, path: Any) -> Any:
        """Save to the directory ``path`` atomically; read back with ``load_explanation``.

        The format (``explanation.json`` + a compressed ``.npz``) is described in
        ``docs/store.md``. Returns the directory as a ``pathlib.Path``.
        """
        from ._explanation_io import save_explanation

        return save_explanation(self, path)


# --------------------------------------------------------------------------- local
class LocalExplanation(_Explanation):
    """Per-row feature attributions, with the interpret-community accessor names.

    Parameters
    ----------
    values : array-like
        Shape (n_rows, n_features) for a single output (regression, or one margin);
        (n_classes, n_rows, n_features) for classification, class-major like
        interpret-community (also used for multi-output regression, with ``classes=None``).
    expected_values : float or array-like
        Base value: a float for 2-D ``values``, shape (n_classes,) for 3-D ``values``.
    features : list of str or int
        Feature names, one per column of ``values``.
    classes : list, optional
        Class labels in model output order; requires 3-D ``values``.
    method : str
        How the values were computed ("tree", "linear", "exact", "kernel", ...).
    space : {"raw", "engineered"}
        Whether ``features`` are raw input columns (or groups of them) or preprocessor outputs.
    output : str
        Model output explained ("log_odds", "probability", "prediction", ...).
    data : DataFrame or ndarray, optional
        The n_rows rows explained, stored as given (not copied). A scipy sparse matrix is
        kept sparse by ``to_dict`` (CSR parts).
    predictions : array-like, optional
        Model output in the explained space, shape ``values.shape[:-1]``, so (n_classes,
        n_rows) for classification: transpose a ``predict_proba`` output.
    groups : dict, optional
        Group name -> list of raw columns, when features are groups. Keys must be features.
    meta : dict, optional
        Extra JSON-able information.

    Notes
    -----
    Arrays are stored as read-only float64 copies. Ranking methods follow the module rule
    (signed value, highest first), per row and, for classification, per class then row.

    Examples
    --------
    >>> import numpy as np
    >>> exp = LocalExplanation(np.array([[1.0, -2.0], [0.5, 0.25]]), 3.0, ["a", "b"],
    ...                        method="linear", space="raw", output="prediction")
    >>> exp.get_ranked_local_names()
    [['a', 'b'], ['a', 'b']]
    >>> exp.get_feature_importance_dict()
    {'b': 1.125, 'a': 0.75}
    >>> exp.check_additivity(predictions=[2.0, 3.75])
    0.0
    >>> LocalExplanation.from_dict(exp.to_dict()).expected_values
    3.0
    """

    _KIND = "local"
    _FIELDS = {
        **_COMMON_FIELDS,
        "predictions": _FLOATS,
        "groups": _GROUPS,
        "data": (_enc_data, _dec_data),
    }

    def __init__(
        self,
        values: Any,
        expected_values: Any,
        features: Any,
        *,
        classes: Any = None,
        method: str,
        space: str,
        output: str,
        data: Any = None,
        predictions: Any = None,
        groups: dict | None = None,
        meta: dict | None = None,
    ) -> None:
        self.values = _float_array(values, "values", finite=True)
        if self.values.ndim not in (2, 3) or 0 in self.values.shape:
            raise ValueError(
                "values must be a non-empty (n_rows, n_features) or (n_classes, n_rows, "
                f"n_features) array; got shape {self.values.shape}."
            )
        n_rows, n_features = self.values.shape[-2:]
        self._init_common(features, n_features, method, space, output, meta)
        self._classes = None
        if classes is not None:
            self._classes = _labels(classes, "classes", (str, int, float, bool))
            if self.values.ndim != 3 or len(self._classes) != self.values.shape[0]:
                raise ValueError(
                    f"classes has {len(self._classes)} labels, so values must have shape "
                    f"({len(self._classes)}, n_rows, n_features); got {self.values.shape}."
                )
        ev = _float_array(expected_values, "expected_values", finite=True)
        if self.values.ndim == 2:
            if ev.size != 1:
                raise ValueError(
                    f"expected_values must be a float for 2-D values; got shape {ev.shape}."
                )
            self.expected_values: float | np.ndarray = float(ev.reshape(-1)[0])
        else:
            _check_shape(ev, self.values.shape[:1], "expected_values (n_classes,)")
            self.expected_values = ev
        se = self.meta.get("standard_errors")
        if se is not None and np.shape(se) != self.values.shape:
            raise ValueError(
                f"meta['standard_errors'] has shape {np.shape(se)} but values have shape "
                f"{self.values.shape}: the errors are per value, laid out like the values."
            )
        if data is not None and not isinstance(data, pd.DataFrame) and not hasattr(data, "tocsr"):
            data = np.asarray(data)
        if data is not None and _n_rows_of(data) != n_rows:
            raise ValueError(f"data has {_n_rows_of(data)} rows but values explain {n_rows} rows.")
        self.data = data
        self.predictions = None
        if predictions is not None:
            self.predictions = _float_array(predictions, "predictions")
            _check_shape(
                self.predictions, self.values.shape[:-1], "predictions (values.shape[:-1])"
            )
        self.groups = None
        if groups is not None:
            if not isinstance(groups, dict):
                raise TypeError(
                    f"groups must be a dict name -> raw columns; got {type(groups).__name__}."
                )
            unknown = [g for g in groups if g not in self._features]
            if unknown:
                raise ValueError(f"groups keys must be features; got unknown groups {unknown!r}.")
            self.groups = {g: _labels(c, f"groups[{g!r}]", (str, int)) for g, c in groups.items()}
        self._global_cache: tuple[np.ndarray, np.ndarray | None] | None = None

    @property
    def n_rows(self) -> int:
        """Number of explained rows."""
        return self.values.shape[-2]

    num_examples = n_rows

    @property
    def n_classes(self) -> int | None:
        """Number of outputs on the first axis of 3-D values, or None for 2-D values."""
        return self.values.shape[0] if self.values.ndim == 3 else None

    def __len__(self) -> int:
        return self.n_rows

    def __repr__(self) -> str:
        cls = "" if self.n_classes is None else f", classes={self._class_labels(self.n_classes)!r}"
        return (
            f"LocalExplanation(method={self.method!r}, space={self.space!r}, output={self.output!r}, "
            f"n_rows={self.n_rows}, n_features={self.num_features}{cls})"
        )

    @property
    def local_importance_values(self) -> np.ndarray:
        """The values: (n_rows, n_features) or (n_classes, n_rows, n_features)."""
        return self.values

    def get_local_importance_rank(self, rank_by: str = "signed") -> list:
        """Per row (and class), feature indices sorted by signed value (or ``rank_by="abs"``:
        magnitude), highest first."""
        return rank_order(self.values, rank_by).tolist()

    def get_ranked_local_names(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Per row (per class, then row, for classification) feature names, highest first.

        ``rank_by="signed"`` (default, interpret-community's order) or ``"abs"`` (largest
        effect first, either sign).
        """
        return _ranked(self.values, self._features, top_k, rank_by)[0]

    def get_ranked_local_values(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Per row (per class, then row, for classification) signed values, ranked as
        :meth:`get_ranked_local_names` ranks them."""
        return _ranked(self.values, self._features, top_k, rank_by)[1]

    def _aggregate(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self._global_cache is None:
            mean_abs = np.abs(self.values).mean(axis=-2)
            mean_abs.setflags(write=False)
            overall = mean_abs.mean(axis=0) if self.values.ndim == 3 else mean_abs
            overall.setflags(write=False)
            self._global_cache = (overall, mean_abs if self.values.ndim == 3 else None)
        return self._global_cache

    def _global_values(self) -> np.ndarray:
        return self._aggregate()[0]

    def _per_class(self) -> np.ndarray | None:
        return self._aggregate()[1]

    def check_additivity(
        self, predictions: Any = None, rtol: float = 1e-6, atol: float = 1e-8
    ) -> float:
        """Local accuracy: the largest ``abs(values.sum(-1) + expected_values - predictions)``.

        Parameters
        ----------
        predictions : array-like, optional
            Shape ``values.shape[:-1]``; defaults to the stored predictions.
        rtol, atol : float
            When an error exceeds ``atol + rtol * |prediction|`` an :class:`AdditivityWarning`
            is emitted. The error is returned either way.

        Returns
        -------
        float
            The largest absolute error.
        """
        if predictions is None:
            if self.predictions is None:
                raise ValueError(
                    "check_additivity needs predictions: pass them or store them on the explanation."
                )
            predictions = self.predictions
        preds = _float_array(predictions, "predictions")
        _check_shape(preds, self.values.shape[:-1], "predictions (values.shape[:-1])")
        base = self.expected_values if self.n_classes is None else self.expected_values[:, None]
        err = np.abs(self.values.sum(axis=-1) + base - preds)
        if np.any(err > atol + rtol * np.abs(preds)):
            msg = f"max abs error {err.max():.3g} (rtol={rtol}, atol={atol})"
            warnings.warn(
                f"Local values do not add up to the predictions: {msg}.",
                AdditivityWarning,
                stacklevel=2,
            )
        return float(err.max())

    def select(
        self, rows: Any = None, classes: Any = None, features: Any = None
    ) -> LocalExplanation:
        """Return a new explanation restricted to some rows, classes and features.

        ``rows`` and ``classes`` are positions (int, slice, list or boolean mask); ``features``
        is a list of names. Selecting features keeps ``predictions``, so additivity no longer
        holds for the result.
        """

        def positions(sel: Any, n: int) -> np.ndarray:
            return np.atleast_1d(np.arange(n)[slice(None) if sel is None else sel])

        r = positions(rows, self.n_rows)
        names = self.features if features is None else list(features)
        missing = [f for f in names if f not in self._features]
        if missing:
            raise ValueError(f"select: unknown features {missing!r}; known: {self._features!r}.")
        f = np.array([self._features.index(n) for n in names], dtype=int)
        values, ev, preds, labels = (
            self.values[..., r, :][..., f],
            self.expected_values,
            self.predictions,
            self._classes,
        )
        if self.n_classes is not None:
            c = positions(classes, self.n_classes)
            values, ev, preds = values[c], ev[c], None if preds is None else preds[c]
            labels = None if labels is None else [labels[i] for i in c]
        elif classes is not None:
            raise ValueError("select: classes given but this explanation has a single output.")
        if isinstance(self.data, pd.DataFrame):
            data = self.data.iloc[r]
        else:
            data = None if self.data is None else self.data[r]
        groups = (
            None if self.groups is None else {g: c for g, c in self.groups.items() if g in names}
        )
        preds = None if preds is None else preds[..., r]
        meta = dict(self.meta)
        if meta.get("standard_errors") is not None:  # per value: selected like the values
            se = np.asarray(meta["standard_errors"], dtype=float)[..., r, :][..., f]
            meta["standard_errors"] = se if self.n_classes is None else se[c]
        return LocalExplanation(values, ev, names, classes=labels, method=self.method, space=self.space,
                                output=self.output, data=data, predictions=preds, groups=groups,
                                meta=meta)  # fmt: skip

    def to_dataframe(self) -> pd.DataFrame:
        """One row per explained row, one column per feature.

        For classification the columns are a MultiIndex (class, feature). The index is the
        data's index when data is a DataFrame, else a RangeIndex.
        """
        index = (
            self.data.index if isinstance(self.data, pd.DataFrame) else pd.RangeIndex(self.n_rows)
        )
        if self.n_classes is None:
            return pd.DataFrame(np.array(self.values), index=index, columns=pd.Index(self.features))
        labels = self._class_labels(self.n_classes)
        columns = pd.MultiIndex.from_product([labels, self.features], names=["class", "feature"])
        flat = self.values.transpose(1, 0, 2).reshape(self.n_rows, -1)
        return pd.DataFrame(flat, index=index, columns=columns)

    def to_shap(self, class_index: int | None = None) -> Any:
        """Return a ``shap.Explanation`` that every shap plot accepts.

        Single output: values (n_rows, n_features), base_values (n_rows,). Classes without
        ``class_index``: values (n_rows, n_features, n_classes), base_values
        (n_rows, n_classes), ``output_names`` the class labels; with ``class_index``: that
        class's 2-D explanation. A binary classifier's margin (``output`` ``"log_odds"`` or
        ``"margin"``) is one output, the positive class's, unless ``class_index`` says
        otherwise: shap's own explainers give it so (``shap.plots.waterfall(exp[0])``
        works as it does on theirs); its probabilities keep both classes, as shap's do. 2-D
        explanations carry no ``output_names``, like shap's. ``data`` is attached when the
        stored data holds the explained features (a group of ``feature_groups``: NaN).
        """
        from ._explanation_shap import local_to_shap

        return local_to_shap(self, class_index)


# --------------------------------------------------------------------------- global
class GlobalExplanation(_Explanation):
    """Overall feature importance, optionally with per-class values and its local source.

    Parameters
    ----------
    values : array-like of shape (n_features,)
        Overall importance.
    features : list of str or int
        Feature names.
    classes : list, optional
        Class labels; taken from ``local`` when omitted.
    per_class_values : array-like of shape (n_classes, n_features), optional
        Importance per class.
    method, space, output : str
        As in :class:`LocalExplanation`.
    expected_values : float or array-like, optional
        Base value(s) of the model.
    local : LocalExplanation, optional
        The local explanation this was computed from; the local accessors forward to it and
        raise :class:`MissingExplanationPartError` (an ``AttributeError``) without it.
    intervals : array-like of shape (2, n_features), optional
        Low/high 95% sampling interval of ``values``: set by ``explain_global`` (in process
        or on Dask) only when it explained a random sample of the rows (``max_rows``
        smaller than the data), None when every row was explained.
    std : array-like of shape (n_features,), optional
        Standard deviation of ``values`` (permutation importance).
    fidelity : dict, optional
        Surrogate fidelity scores (JSON-able).
    n_rows : int, optional
        Rows the importance was computed on; taken from ``local`` when omitted.
    meta : dict, optional
        Extra JSON-able information.

    Examples
    --------
    >>> import numpy as np
    >>> local = LocalExplanation(np.array([[1.0, -2.0], [0.5, 0.25]]), 3.0, ["a", "b"],
    ...                          method="linear", space="raw", output="prediction")
    >>> glob = GlobalExplanation.from_local(local)
    >>> glob.get_ranked_global_names(), glob.get_ranked_global_values()
    (['b', 'a'], [1.125, 0.75])
    >>> glob.to_dataframe()
      feature  importance
    0       b       1.125
    1       a       0.750
    """

    _KIND = "global"
    _FIELDS = {
        **_COMMON_FIELDS,
        "per_class_values": _FLOATS,
        "intervals": _FLOATS,
        "std": _FLOATS,
        "fidelity": _PLAIN,
        "n_rows": _PLAIN,
        "local": (
            lambda local: None if local is None else local.to_dict(),
            lambda d: None if d is None else LocalExplanation.from_dict(d),
        ),
    }

    def __init__(
        self,
        values: Any,
        features: Any,
        *,
        classes: Any = None,
        per_class_values: Any = None,
        method: str,
        space: str,
        output: str,
        expected_values: Any = None,
        local: LocalExplanation | None = None,
        intervals: Any = None,
        std: Any = None,
        fidelity: dict | None = None,
        n_rows: int | None = None,
        meta: dict | None = None,
    ) -> None:
        self.values = _float_array(values, "values", finite=True)
        if self.values.ndim != 1 or self.values.size == 0:
            raise ValueError(
                f"values must be a non-empty (n_features,) array; got shape {self.values.shape}."
            )
        n_features = self.values.size
        self._init_common(features, n_features, method, space, output, meta)
        if local is not None:
            if not isinstance(local, LocalExplanation):
                raise TypeError(f"local must be a LocalExplanation; got {type(local).__name__}.")
            if local.features != self._features or local.space != self.space:
                raise ValueError(
                    "local must explain the same features in the same space; got "
                    f"{local.features!r} ({local.space}) vs {self._features!r} ({self.space})."
                )
            classes = local.classes if classes is None else classes
            n_rows = local.n_rows if n_rows is None else n_rows
            if n_rows != local.n_rows:
                raise ValueError(f"n_rows={n_rows} but local explains {local.n_rows} rows.")
        self.local = local
        self._classes = (
            None if classes is None else _labels(classes, "classes", (str, int, float, bool))
        )
        if local is not None and local.classes is not None and local.classes != self._classes:
            raise ValueError(
                f"classes {self._classes!r} differ from local classes {local.classes!r}."
            )
        n_classes = None if self._classes is None else len(self._classes)
        self._per_class_values = None
        if per_class_values is not None:
            pc = _float_array(per_class_values, "per_class_values", finite=True)
            n_classes = n_classes or (pc.shape[0] if pc.ndim == 2 else "n_classes")
            _check_shape(pc, (n_classes, n_features), "per_class_values (n_classes, n_features)")
            self._per_class_values = pc
        self.expected_values: float | np.ndarray | None = None
        if expected_values is not None:
            ev = _float_array(expected_values, "expected_values", finite=True)
            if ev.ndim == 0:
                self.expected_values = float(ev)
            else:
                _check_shape(ev, (n_classes or ev.size,), "expected_values (n_classes,)")
                self.expected_values = ev
        self.intervals = None if intervals is None else _float_array(intervals, "intervals")
        if self.intervals is not None:
            _check_shape(self.intervals, (2, n_features), "intervals (low/high, n_features)")
        self.std = None if std is None else _float_array(std, "std")
        if self.std is not None:
            _check_shape(self.std, (n_features,), "std")
        if fidelity is not None and not isinstance(fidelity, dict):
            raise TypeError(f"fidelity must be a dict; got {type(fidelity).__name__}.")
        self.fidelity = None if fidelity is None else _plain(dict(fidelity), "fidelity")
        bad_n = isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 0
        if n_rows is not None and bad_n:
            raise ValueError(f"n_rows must be None or a non-negative int; got {n_rows!r}.")
        self.n_rows = None if n_rows is None else int(n_rows)

    @classmethod
    def from_local(
        cls,
        local: LocalExplanation,
        *,
        intervals: Any = None,
        std: Any = None,
        fidelity: dict | None = None,
        keep_local: bool = True,
        meta: dict | None = None,
    ) -> GlobalExplanation:
        """Aggregate a local explanation: mean ``abs(local)`` per class, then over classes.

        This is interpret-community's aggregation. ``meta`` is merged over ``local.meta``;
        with ``keep_local=False`` the local part is dropped (no local accessors).
        """
        if not isinstance(local, LocalExplanation):
            raise TypeError(f"local must be a LocalExplanation; got {type(local).__name__}.")
        return cls(
            local.global_importance_values, local.features, classes=local.classes,
            per_class_values=local.per_class_values, method=local.method, space=local.space,
            output=local.output, expected_values=local.expected_values,
            local=local if keep_local else None, intervals=intervals, std=std, fidelity=fidelity,
            n_rows=local.n_rows, meta={**_global_meta(local.meta), **(meta or {})},
        )  # fmt: skip

    def __repr__(self) -> str:
        parts = [f"method={self.method!r}", f"space={self.space!r}", f"output={self.output!r}"]
        parts.append(f"n_features={self.num_features}")
        if self._classes is not None:
            parts.append(f"classes={self._classes!r}")
        if self.n_rows is not None:
            parts.append(f"n_rows={self.n_rows}")
        parts.append(f"local={'yes' if self.local is not None else 'no'}")
        return f"GlobalExplanation({', '.join(parts)})"

    def _global_values(self) -> np.ndarray:
        return self.values

    def _per_class(self) -> np.ndarray | None:
        return self._per_class_values

    def _require_local(self) -> LocalExplanation:
        if self.local is None:
            raise MissingExplanationPartError(
                "This GlobalExplanation carries no local explanation; build it with "
                "GlobalExplanation.from_local(local, keep_local=True) to use local accessors."
            )
        return self.local

    @property
    def local_importance_values(self) -> np.ndarray:
        """Forwarded from the local explanation (raises when there is none)."""
        return self._require_local().local_importance_values

    @property
    def num_examples(self) -> int | None:
        """Rows the importance was computed on (None when unknown)."""
        return self.n_rows

    def get_local_importance_rank(self, rank_by: str = "signed") -> list:
        """Forwarded from the local explanation (raises when there is none)."""
        return self._require_local().get_local_importance_rank(rank_by)

    def get_ranked_local_names(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Forwarded from the local explanation (raises when there is none)."""
        return self._require_local().get_ranked_local_names(top_k, rank_by)

    def get_ranked_local_values(self, top_k: int | None = None, rank_by: str = "signed") -> list:
        """Forwarded from the local explanation (raises when there is none)."""
        return self._require_local().get_ranked_local_values(top_k, rank_by)

    def check_additivity(
        self, predictions: Any = None, rtol: float = 1e-6, atol: float = 1e-8
    ) -> float:
        """Forwarded from the local explanation (raises when there is none)."""
        return self._require_local().check_additivity(predictions, rtol=rtol, atol=atol)

    def to_shap(self, class_index: int | None = None) -> Any:
        """``shap.Explanation`` of the local part (raises when there is none)."""
        return self._require_local().to_shap(class_index)

    def to_dataframe(self) -> pd.DataFrame:
        """Ranked table: feature, importance, then importance_<class>, interval_low/high, std."""
        order = rank_order(self.values)
        out = {
            "feature": np.array(self._features, dtype=object)[order],
            "importance": self.values[order],
        }
        if self._per_class_values is not None:
            labels = self._class_labels(len(self._per_class_values))
            for label, row in zip(labels, self._per_class_values, strict=True):
                out[f"importance_{label}"] = row[order]
        if self.intervals is not None:
            out["interval_low"], out["interval_high"] = self.intervals[:, order]
        if self.std is not None:
            out["std"] = self.std[order]
        return pd.DataFrame(out)
