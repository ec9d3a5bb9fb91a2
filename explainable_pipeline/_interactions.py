"""``ExplainablePipeline.explain_interactions``: Shapley interaction values of raw columns.

* ``explainer="tree"``: exact, from the same raw-labelled trees as the attributions
  (path-dependent or interventional, see ``_tree_attribution``), with the compiled engine.
  ``tree_players="sum"`` sums the engineered interaction values into raw blocks.
* ``explainer="linear"``: the model's margin is additive in the raw columns (each
  engineered column has one raw parent), so there are no interactions: the matrices are
  diagonal, holding the same closed-form attributions (and reference point) as
  ``explain_local``.
* any other explainer (and the probabilities of boosted trees): the raw columns are the
  players of the raw-space game (hybrid rows of the explained row and the background
  through the whole pipeline). Up to :data:`EXACT_MAX_PLAYERS` players every coalition is
  evaluated and the values are exact; beyond, they are estimated from random permutations
  (each permutation gives every pair of neighbours one sample of the discrete second
  derivative at the players before them, an unbiased sample of the interaction index).

Either way the values follow shap's convention: off-diagonal entries are half the Shapley
interaction index, the diagonal is the rest of the Shapley value, so the rows of each matrix
sum to the attributions and the matrix to the model output minus the expected value.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples
from tqdm.auto import tqdm

from ._attribution import output_function, per_class, player_index, raw_player_names, to_raw
from ._interaction_explanation import InteractionExplanation
from ._sklearn_compat import safe_indexing
from .explainers import EXACT_MAX_PLAYERS
from .explainers._base import EngineeredAttribution

#: Interaction values held per chunk of rows (floats).
_CHUNK_FLOATS = 8_000_000


def explain_interactions(ep, X, *, n_samples="auto", random_state=None) -> InteractionExplanation:
    """See :meth:`ExplainablePipeline.explain_interactions`."""
    ep._check_local_request(X, "raw", caller="explain_interactions")
    bad = isinstance(n_samples, bool) or not (
        (isinstance(n_samples, str) and n_samples == "auto")
        or (isinstance(n_samples, (int, np.integer)) and n_samples >= 1)
    )
    if bad:
        raise ValueError(f"n_samples must be 'auto' or a positive int; got {n_samples!r}.")
    n = _num_samples(X)
    names = raw_player_names(ep)
    plan = None
    if ep.explainer_ == "tree":
        from ._tree_attribution import _readable, tree_plan

        plan = tree_plan(ep, "raw")
        if plan["engine"] != "compiled" or not _readable(ep, plan):
            plan = None  # boosted probabilities: the raw-space game below, exactly
    n_out = _n_outputs(ep, plan)
    P = len(names)
    size = max(1, _CHUNK_FLOATS // max(1, n_out * P * P))
    parts, expected, meta = [], None, {}
    bar = tqdm(total=n, disable=not ep._show_progress(n), desc="interactions", unit="row")
    for start in range(0, n, size):
        rows = safe_indexing(X, np.arange(start, min(n, start + size)))
        if plan is not None:
            values, expected, output, meta = _tree_chunk(ep, rows, plan)
        elif ep.explainer_ == "linear":
            values, expected, output, meta = _linear_chunk(ep, rows)
        else:
            values, expected, output, meta = _raw_space_chunk(ep, rows, n_samples, random_state)
        parts.append(values)
        bar.update(_num_samples(rows))
    bar.close()
    values = np.concatenate(parts, axis=1)
    values, expected, _ = per_class(ep, EngineeredAttribution(values, expected, output))
    method = ep.explainer_ if plan is not None else meta.pop("method")
    return InteractionExplanation(values, expected, names, classes=ep._class_list(),
                                  method=method, space="raw", output=output, data=X,
                                  meta=meta)  # fmt: skip


def _n_outputs(ep, plan) -> int:
    classes = ep._class_list()
    return 1 if classes is None else len(classes)


def _tree_chunk(ep, rows, plan):
    from ._tree_attribution import compiled_values, describe
    from .explainers._tree import margin_name

    Xt = ep._transform(rows)
    _, expected, inter = compiled_values(ep, Xt, plan, interactions=True)
    if plan["players"] == "sum":  # engineered blocks summed: the "sum" convention
        inter = np.swapaxes(to_raw(ep, np.swapaxes(to_raw(ep, inter), -1, -2)), -1, -2)
    output = "probability" if ep._resolved_output() == "probability" else margin_name(ep.estimator_)
    return inter, expected, output, {"evaluation": describe(plan)}


def _linear_chunk(ep, rows):
    """Diagonal matrices of the linear attributions: an additive game has no interactions."""
    from ._attribution import engineered_attribution

    attribution, _ = engineered_attribution(ep, rows)
    phi = to_raw(ep, attribution.values)  # (O, n, M)
    inter = np.zeros(phi.shape + phi.shape[-1:])
    diagonal = np.arange(phi.shape[-1])
    inter[..., diagonal, diagonal] = phi
    meta = {"method": "linear", "evaluation": "closed form (additive: no interactions)"}
    return inter, attribution.expected, attribution.output, meta


# --------------------------------------------------------------------------- raw space
def _raw_space_chunk(ep, rows, n_samples, random_state):
    from .explainers._shapley import _HybridGame, _Table

    f, output = output_function(ep)
    players, _ = player_index(ep)
    M = len(players)
    n_columns = len(ep._raw_feature_names())
    player_cols = np.zeros((M, n_columns), dtype=bool)
    for p, cols in enumerate(players):
        player_cols[p, cols] = True
    table = _Table(rows, ep.background_)
    weights = np.asarray(ep.background_weights_, dtype=np.float64)
    f_bg = np.asarray(f(table.background_rows()), dtype=float)
    n_out = 1 if f_bg.ndim == 1 else f_bg.shape[1]
    game = _HybridGame(f, table.chunk(rows), player_cols, weights, 65_536, n_out)
    expected = weights @ f_bg.reshape(len(weights), n_out)
    if M <= EXACT_MAX_PLAYERS:
        codes = np.arange(1 << M)
        masks = ((codes[:, None] >> np.arange(M)) & 1).astype(bool)
        v = game.evaluate(masks, np.full(len(codes), -1))  # (n, 2**M, O)
        inter = exact_interactions(np.moveaxis(v, 1, -1), M)  # (n, O, M, M)
        meta = {"method": "exact", "evaluation": f"all {1 << M} coalitions"}
    else:
        budget = max(8 * M, 128) if n_samples == "auto" else int(n_samples)
        inter, unsampled = sampled_interactions(game, M, budget, check_random_state(random_state))
        meta = {"method": "permutation", "evaluation": f"{budget} permutations",
                "pairs_unsampled": int(unsampled)}  # fmt: skip
    values = np.ascontiguousarray(inter.transpose(1, 0, 2, 3))
    return values, expected, output, meta


def exact_interactions(v: np.ndarray, M: int) -> np.ndarray:
    """Interaction values (shap's convention) from every coalition value.

    ``v[..., code]`` is the value of the coalition whose bit ``i`` marks player ``i``;
    returns ``(..., M, M)``.
    """
    codes = np.arange(1 << M)
    size = np.array([bin(c).count("1") for c in codes])
    w1 = np.array([math.factorial(s) * math.factorial(M - s - 1) / math.factorial(M)
                   for s in range(M)])  # fmt: skip
    w2 = np.array([math.factorial(s) * math.factorial(M - s - 2) / math.factorial(M - 1)
                   for s in range(M - 1)])  # fmt: skip (none for one player: no pairs)
    out = np.zeros(v.shape[:-1] + (M, M))
    phi = np.zeros(v.shape[:-1] + (M,))
    for i in range(M):
        S = codes[(codes >> i) & 1 == 0]
        phi[..., i] = ((v[..., S | 1 << i] - v[..., S]) * w1[size[S]]).sum(-1)
        for j in range(i + 1, M):
            S2 = S[(S >> j) & 1 == 0]
            delta = v[..., S2 | 1 << i | 1 << j] - v[..., S2 | 1 << i] - v[..., S2 | 1 << j]
            half = 0.5 * ((delta + v[..., S2]) * w2[size[S2]]).sum(-1)
            out[..., i, j] = half
            out[..., j, i] = half
    idx = np.arange(M)
    out[..., idx, idx] = phi - out.sum(-1)
    return out


def sampled_interactions(game, M: int, n_perm: int, rng):
    """Permutation estimates; returns ((n, O, M, M), number of pairs never sampled)."""
    perms = np.array([rng.permutation(M) for _ in range(n_perm)])
    masks = []
    for perm in perms:
        prefix = np.zeros(M, dtype=bool)
        masks.append(prefix.copy())
        for p in perm:
            prefix[p] = True
            masks.append(prefix.copy())
        prefix = np.zeros(M, dtype=bool)
        for k in range(M - 1):  # S + second of the pair (first left out)
            m = prefix.copy()
            m[perm[k + 1]] = True
            masks.append(m)
            prefix[perm[k]] = True
    masks = np.array(masks)
    v = game.evaluate(masks, np.full(len(masks), -1))  # (n, n_perm * 2M, O)
    n, _, n_out = v.shape
    v = v.reshape(n, n_perm, 2 * M, n_out)
    prefix_v = v[:, :, : M + 1]  # (n, perm, M+1, O)
    extra = v[:, :, M + 1:]  # (n, perm, M-1, O)
    phi = np.zeros((n, n_out, M))
    sums = np.zeros((n, n_out, M, M))
    counts = np.zeros((M, M))
    for t, perm in enumerate(perms):
        gains = prefix_v[:, t, 1:] - prefix_v[:, t, :-1]  # (n, M, O)
        phi[:, :, perm] += gains.transpose(0, 2, 1)
        for k in range(M - 1):
            a, b = perm[k], perm[k + 1]
            delta = prefix_v[:, t, k + 2] - prefix_v[:, t, k + 1] - extra[:, t, k] + prefix_v[:, t, k]
            sums[:, :, a, b] += delta
            sums[:, :, b, a] += delta
            counts[a, b] += 1
            counts[b, a] += 1
    phi /= n_perm
    inter = 0.5 * np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)
    idx = np.arange(M)
    inter[:, :, idx, idx] = 0.0
    inter[:, :, idx, idx] = phi - inter.sum(-1)
    unsampled = int(((counts == 0).sum() - M) // 2)
    return inter, unsampled
