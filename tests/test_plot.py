"""Static matplotlib plots (``explanation.plot``), headless, checked through their artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from explainable_pipeline import GlobalExplanation, LocalExplanation  # noqa: E402


@pytest.fixture
def local():
    rng = np.random.default_rng(0)
    n = 50
    data = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "c": rng.choice(["x", "y"], n), "d": rng.normal(size=n)})  # fmt: skip
    values = np.stack([rng.normal(size=(n, 4)) * [3, 1, 0.5, 2] for _ in range(3)])
    return LocalExplanation(values, [0.1, 0.2, 0.3], ["a", "b", "c", "d"], classes=["p", "q", "r"],
                            method="tree", space="raw", output="log_odds", data=data)  # fmt: skip


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _bars(ax):
    labels = [t.get_text() for t in ax.get_yticklabels()]
    return labels, [p.get_width() for p in ax.patches]


def test_global_bars_are_the_top_k_importances(local):
    labels, widths = _bars(local.plot("global", top_k=3))
    assert labels == local.get_ranked_global_names(top_k=3)[::-1]
    np.testing.assert_allclose(widths, local.get_ranked_global_values(top_k=3)[::-1])
    glob = GlobalExplanation.from_local(local)
    labels, widths = _bars(glob.plot("global", class_index=2))
    per_class = dict(zip(glob.features, glob.per_class_values[2], strict=True))
    np.testing.assert_allclose(widths, [per_class[f] for f in labels])
    assert widths == sorted(widths)


def test_local_bars_are_the_rows_signed_values(local):
    ax = local.plot("local", row=4, class_index=1, top_k=2)
    labels, widths = _bars(ax)
    values = dict(zip(local.features, local.values[1, 4], strict=True))
    np.testing.assert_allclose(widths, [values[f] for f in labels])
    assert abs(widths[-1]) == max(abs(v) for v in values.values())
    colors = [tuple(p.get_facecolor()) for p in ax.patches]
    red = matplotlib.colors.to_rgba("#d62728")
    assert [c == red for c in colors] == [w >= 0 for w in widths]
    # default class: the row's highest explained output
    auto = _bars(local.plot("local", row=4))[1]
    c = int(np.argmax(local.values[:, 4].sum(-1) + local.expected_values))
    assert sorted(auto) == sorted(local.values[c, 4][np.argsort(-np.abs(local.values[c, 4]))])


def test_local_bars_follow_the_shared_abs_ranking(local):
    """The local plot ranks by magnitude: the explanation's own rank_by="abs" order."""
    for row in range(10):
        labels, _ = _bars(local.plot("local", row=row, class_index=0, top_k=3))
        ranked = local.select(classes=[0]).get_ranked_local_names(top_k=3, rank_by="abs")[0]
        assert labels[::-1] == ranked[row]  # largest on top


def test_summary_points_are_the_attributions(local):
    ax = local.plot("summary", class_index=0, top_k=3)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [f for f in local.get_ranked_per_class_names()[0]][:3][::-1]
    for coll, name in zip(ax.collections, names, strict=True):
        np.testing.assert_allclose(coll.get_offsets()[:, 0],
                                   local.values[0, :, local.features.index(name)])  # fmt: skip


def test_dependence_plots_value_against_attribution(local):
    ax = local.plot("dependence", feature="a", color="d", class_index=2)
    xy = ax.collections[0].get_offsets()
    np.testing.assert_allclose(xy[:, 0], local.data["a"])
    np.testing.assert_allclose(xy[:, 1], local.values[2, :, 0])
    np.testing.assert_allclose(ax.collections[0].get_array(), local.data["d"])
    cat = local.plot("dependence", feature="c", class_index=0)
    assert [t.get_text() for t in cat.get_xticklabels()] == ["x", "y"]


def test_plot_errors_name_the_fix(local):
    with pytest.raises(ValueError, match="kind must be one of"):
        local.plot("pie")
    with pytest.raises(AttributeError, match="from_local"):
        GlobalExplanation.from_local(local, keep_local=False).plot("summary")
    bare = LocalExplanation(np.ones((2, 2)), 0.0, ["a", "b"], method="tree", space="raw",
                            output="prediction")  # fmt: skip
    with pytest.raises(ValueError, match="data="):
        bare.plot("dependence")
    fig, ax = plt.subplots()
    assert bare.plot("local", ax=ax) is ax


LONG = "customer_lifetime_value_estimated_from_previous_purchases_in_euros"


def _long_label_explanation():
    rng = np.random.default_rng(1)
    n = 30
    names = [LONG, "age", "a_second_rather_long_column_name_from_the_warehouse"]
    data = pd.DataFrame(rng.normal(size=(n, 3)), columns=names)
    values = rng.normal(size=(n, 3)) * [5, 1, 2]
    return LocalExplanation(values, 0.0, names, method="tree", space="raw", output="prediction",
                            data=data)  # fmt: skip


def _inside_figure(fig, artists) -> None:
    """Every artist's drawn box lies inside the saved figure (nothing clipped)."""
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    for artist in artists:
        box = artist.get_window_extent(renderer)
        assert box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5, (artist, box, frame)
        assert box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5, (artist, box, frame)


@pytest.mark.parametrize("kind", ["global", "local", "summary"])
def test_long_labels_are_not_clipped_without_tight_bbox(kind, tmp_path):
    ax = _long_label_explanation().plot(kind)
    fig = ax.figure
    fig.savefig(tmp_path / "plot.png")  # no bbox_inches="tight"
    labels = [t for t in ax.get_yticklabels() if t.get_text()]
    assert LONG in [t.get_text() for t in labels]
    _inside_figure(fig, [*labels, ax.xaxis.label, ax.title])


def test_save_global_bar_keeps_long_labels(tmp_path):
    from explainable_pipeline._plot import save_global_bar

    glob = GlobalExplanation.from_local(_long_label_explanation())
    path = tmp_path / "bar.png"
    save_global_bar(glob, path, title="raw importance")
    image = plt.imread(path)
    # the long label's first letters are drawn: the leftmost columns of the image hold ink
    # (dark text pixels), not only the white margin
    left = image[:, : image.shape[1] // 40, :3]
    assert left.min() < 0.5


def test_categorical_colour_column_gets_a_legend(local, tmp_path):
    ax = local.plot("dependence", feature="a", color="c", class_index=2)
    fig = ax.figure
    assert len(fig.axes) == 1  # no colour bar
    legend = ax.get_legend()
    assert legend is not None and legend.get_title().get_text() == "c"
    assert [t.get_text() for t in legend.get_texts()] == ["x", "y"]
    # the points of each level are that level's rows, with their values
    for coll, level in zip(ax.collections, ["x", "y"], strict=True):
        mask = (local.data["c"] == level).to_numpy()
        np.testing.assert_allclose(coll.get_offsets()[:, 0], local.data["a"][mask])
        np.testing.assert_allclose(coll.get_offsets()[:, 1], local.values[2, mask, 0])
    fig.savefig(tmp_path / "dep.png")
    _inside_figure(fig, [legend])
    # a numeric colour column keeps its colour bar
    assert len(local.plot("dependence", feature="a", color="d").figure.axes) == 2


def test_colour_legend_names_missing_and_groups_rare_levels():
    rng = np.random.default_rng(2)
    n = 200
    levels = np.array([f"shop{i:02d}" for i in range(15)], dtype=object)
    col = levels[np.minimum(rng.geometric(0.25, n) - 1, 14)]
    col[:5] = None
    data = pd.DataFrame({"x": rng.normal(size=n), "shop": col})
    exp = LocalExplanation(rng.normal(size=(n, 2)), 0.0, ["x", "shop"], method="tree",
                           space="raw", output="prediction", data=data)  # fmt: skip
    ax = exp.plot("dependence", feature="x", color="shop")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == 10 and texts[-1] == "other" and "missing" in texts
    assert sum(len(c.get_offsets()) for c in ax.collections) == n
    flags = LocalExplanation(rng.normal(size=(n, 2)), 0.0, ["x", "flag"], method="tree",
                             space="raw", output="prediction",
                             data=pd.DataFrame({"x": data["x"], "flag": data["x"] > 0}))  # fmt: skip
    ax = flags.plot("dependence", feature="x", color="flag")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["False", "True"]
