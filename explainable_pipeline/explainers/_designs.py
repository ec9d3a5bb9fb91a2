"""Coalition designs: every coalition (exact), stratified paired samples (kernel), permutations."""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np


def _all_masks(M: int) -> np.ndarray:
    codes = np.arange(2**M, dtype=np.int64)
    return ((codes[:, None] >> np.arange(M)) & 1).astype(bool)


def _kernel_mass(M: int, s: int) -> float:
    """Total Shapley-kernel mass of all coalitions of size ``s`` (up to a constant)."""
    return (M - 1) / (s * (M - s))


def _sample_pairs(M: int, s: int, r: int, rng) -> np.ndarray:
    """``r`` distinct coalitions of size ``s`` (distinct as pairs when ``2 s == M``)."""
    half = 2 * s == M
    n_unique = math.comb(M, s) // (2 if half else 1)
    r = min(r, n_unique)
    if math.comb(M, s) <= 20_000:
        combos = np.array(list(combinations(range(M), s)), dtype=np.intp)
        if half:  # keep one representative per pair: the one holding player 0
            combos = combos[combos[:, 0] == 0]
        chosen = combos[rng.choice(len(combos), size=r, replace=False)]
        masks = np.zeros((r, M), dtype=bool)
        np.put_along_axis(masks, chosen, True, axis=1)
        return masks
    seen: set[bytes] = set()
    out = []
    while len(out) < r:
        mask = np.zeros(M, dtype=bool)
        mask[rng.choice(M, size=s, replace=False)] = True
        if half and not mask[0]:
            mask = ~mask
        key = np.packbits(mask).tobytes()
        if key not in seen:
            seen.add(key)
            out.append(mask)
    return np.array(out)


class _KernelDesign:
    """Enumerated strata + stratified paired samples consumed in doubling rounds.

    ``alloc`` spreads the samples over coalition sizes: ``"kernel"`` in proportion to the
    Shapley kernel's mass (KernelSHAP), ``"leverage"`` equally over sizes (the leverage scores
    of the projected regression, Musco & Witter 2025), ``"sqrt"`` in between. The regression
    weights are the kernel mass of each stratum over its sample count whatever the allocation
    (Horvitz-Thompson weights of stratified sampling without replacement).
    """

    def __init__(self, M: int, budget: int, rng, n_rounds: int, alloc: str = "kernel",
                 min_pairs: int = 0):
        self.M = M
        sizes = list(range(1, M // 2 + 1))
        pair_mass = {s: _kernel_mass(M, s) * (1 if 2 * s == M else 2) for s in sizes}
        sample_mass = _sample_mass(pair_mass, M, alloc)
        count = {s: math.comb(M, s) * (1 if 2 * s == M else 2) for s in sizes}
        remaining = float(budget)
        mass_left = sum(sample_mass.values())
        kernel_left = sum(pair_mass.values())
        enumerated = []
        for s in sizes:
            # sizes 1 and M - 1 are always enumerated when affordable: below that budget a
            # sampled design leaves the linear part of the regression ill-posed
            # (``min_pairs``: a size is enumerated only if that many pairs stay for the
            # sizes left, so that none is left unseen)
            rest = 2 * min_pairs if s < max(sizes) else 0
            affordable = s == 1 and remaining >= count[s] + rest
            if affordable or (remaining - rest) * sample_mass[s] / mass_left >= count[s] - 1e-9:
                enumerated.append(s)
                remaining -= count[s]
                mass_left -= sample_mass[s]
                kernel_left -= pair_mass[s]
            else:
                break
        blocks, weights = [], []
        for s in enumerated:
            for size in {s, M - s}:
                combos = np.array(list(combinations(range(M), size)), dtype=np.intp)
                masks = np.zeros((len(combos), M), dtype=bool)
                np.put_along_axis(masks, combos, True, axis=1)
                blocks.append(masks)
                weights.append(np.full(len(combos), _kernel_mass(M, size) / len(combos)))
        self.enum_masks = np.concatenate(blocks) if blocks else np.zeros((0, M), dtype=bool)
        self.enum_weights = np.concatenate(weights) if weights else np.zeros(0)
        self.complete = len(enumerated) == len(sizes)

        # strata: (pair mass, masks of the S side in random order, pairs in the population or
        # None when sizes were drawn at random)
        self.strata: list[tuple[float, np.ndarray, int | None]] = []
        left = [s for s in sizes if s not in enumerated]
        n_pairs = int(remaining // 2)
        if left and n_pairs > 0:
            if n_pairs >= len(left):
                counts = self._allocate(n_pairs, left, sample_mass, M)
                for s in left:
                    if counts[s]:
                        self.strata.append((pair_mass[s], _sample_pairs(M, s, counts[s], rng),
                                            math.comb(M, s) // (2 if 2 * s == M else 1)))
            else:  # tiny budget: one stratum, sizes drawn in proportion to kernel mass
                p = np.array([pair_mass[s] for s in left])
                drawn = rng.choice(left, size=n_pairs, p=p / p.sum())
                masks = np.concatenate([_sample_pairs(M, s, 1, rng) for s in drawn])
                self.strata.append((kernel_left, masks, None))
        longest = max((len(m) for _, m, _ in self.strata), default=1)
        self.n_rounds = max(1, min(n_rounds, int(math.log2(longest)) + 1))
        self.exact = self.complete and not self.strata

    @staticmethod
    def _allocate(n_pairs, left, pair_mass, M) -> dict[int, int]:
        """Pairs per size: at least one each, the rest in proportion to ``pair_mass``, capped."""
        cap = {s: math.comb(M, s) // (2 if 2 * s == M else 1) for s in left}
        alloc = dict.fromkeys(left, 1)
        budget = n_pairs - len(left)
        open_ = [s for s in left if alloc[s] < cap[s]]
        while budget > 0 and open_:
            mass = np.array([pair_mass[s] for s in open_])
            share = budget * mass / mass.sum()
            add = np.floor(share).astype(int)
            rest = budget - add.sum()
            for q in np.argsort(-(share - add))[:rest]:
                add[q] += 1
            for s, a in zip(open_, add, strict=False):
                take = min(int(a), cap[s] - alloc[s])
                alloc[s] += take
                budget -= take
            open_ = [s for s in open_ if alloc[s] < cap[s]]
        return alloc

    def pairs_in_round(self, t: int) -> list[int]:
        """Sampled pairs of each stratum used up to round ``t`` (0-based; nested rounds)."""
        frac = 2.0 ** (min(t, self.n_rounds - 1) + 1 - self.n_rounds)
        return [max(1, math.ceil(len(sampled) * frac)) for _, sampled, _ in self.strata]

    def round(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Masks and kernel weights of every coalition used up to round ``t`` (0-based).

        Layout: the enumerated coalitions, then per stratum its ``r`` sampled sides followed
        by their ``r`` complements.
        """
        masks, weights = [self.enum_masks], [self.enum_weights]
        for (mass, sampled, _), r in zip(self.strata, self.pairs_in_round(t), strict=True):
            side = sampled[:r]
            masks += [side, ~side]
            weights.append(np.full(2 * r, mass / (2 * r)))
        return np.concatenate(masks), np.concatenate(weights)


def _sample_mass(pair_mass: dict, M: int, alloc: str) -> dict:
    """How samples are spread over the paired strata of sizes ``s`` and ``M - s``."""
    if alloc == "kernel":
        return pair_mass
    if alloc == "leverage":  # every size gets the same share
        return {s: 1.0 if 2 * s == M else 2.0 for s in pair_mass}
    if alloc == "sqrt":
        return {s: math.sqrt(m) for s, m in pair_mass.items()}
    raise ValueError(f"unknown allocation {alloc!r}")


def _permutation_design(M: int, budget: int, rng, n_rounds: int) -> list[np.ndarray]:
    """Antithetic permutations (each followed by its reverse), as nested doubling rounds."""
    n_pairs = max(1, budget // max(2 * (M - 1), 1))
    perms = rng.rand(n_pairs, M).argsort(axis=1)
    perms = np.stack([perms, perms[:, ::-1]], axis=1)  # (pairs, 2, M)
    n_rounds = max(1, min(n_rounds, int(math.log2(n_pairs)) + 1))
    cuts = [max(1, math.ceil(n_pairs * 2.0 ** (t + 1 - n_rounds))) for t in range(n_rounds)]
    return [perms[:c].reshape(-1, M) for c in cuts]


def _permutation_masks(perms: np.ndarray) -> np.ndarray:
    """Prefix coalitions (p, M + 1, M) of each permutation, sizes 0..M."""
    p, M = perms.shape
    pos = np.argsort(perms, axis=1)  # position of each player in the permutation
    return pos[:, None, :] < np.arange(M + 1)[None, :, None]


_GROW_BLOCK = 64


def pack_bits(masks: np.ndarray) -> np.ndarray:
    """(K,) int64: each coalition's players (at most 62 columns of ``masks``) as the bits of
    one integer, column ``j`` as bit ``j``."""
    M = masks.shape[1]
    return masks.astype(np.int64) @ (np.int64(1) << np.arange(M, dtype=np.int64))


def _keys(masks: np.ndarray) -> list:
    """A hashable key per coalition: an integer up to 62 players, else the packed bytes."""
    if masks.shape[1] <= 62:
        return pack_bits(masks).tolist()
    return [row.tobytes() for row in np.packbits(masks, axis=1)]


@lru_cache(maxsize=32)
def _stratum_masks(M: int, s: int, half: bool) -> np.ndarray:
    """Every coalition of size ``s`` in lexicographic order, as read-only masks (n, M); with
    ``half``, one representative per complementary pair (the side holding player 0). Shared
    by every game of a process (each background row's design enumerates the same strata)."""
    combos = np.array(list(combinations(range(M), s)), dtype=np.intp).reshape(-1, s)
    if half:
        combos = combos[combos[:, 0] == 0]
    masks = np.zeros((len(combos), M), dtype=bool)
    np.put_along_axis(masks, combos, True, axis=1)
    masks.flags.writeable = False
    return masks


class NestedDesign:
    """One game's coalition pairs, in a random order per size stratum: every budget's design
    is a prefix of it, so a game's budget can grow after a pilot without discarding samples.

    Stratum ``s`` (``1 <= s <= M / 2``) holds the pairs ``(S, complement of S)`` with
    ``|S| = s``: ``binom(M, s)`` of them (half that when ``2 s == M``). :meth:`counts` gives how
    many pairs of each stratum a budget buys: strata are enumerated in size order while their
    share of the budget (by ``alloc``, as :class:`_KernelDesign`) covers them, sizes 1 and
    ``M - 1`` always when affordable, and the rest spread with at least one pair each. A
    stratum's first ``r`` pairs are a sample without replacement (all of them when
    ``r`` equals the stratum's size: enumeration is the same code path).
    """

    def __init__(self, M: int, seed: int, alloc: str = "kernel"):
        self.M = M
        self.seed = seed
        self._rngs: dict[int, np.random.Generator] = {}
        self.sizes = list(range(1, M // 2 + 1))
        self.pair_mass = {s: _kernel_mass(M, s) * (1 if 2 * s == M else 2) for s in self.sizes}
        self.sample_mass = _sample_mass(self.pair_mass, M, alloc)
        self.population = {s: math.comb(M, s) // (2 if 2 * s == M else 1) for s in self.sizes}
        self._orders: dict[int, np.ndarray] = {}
        self._seen: dict[int, set] = {}

    def counts(self, budget: int) -> dict[int, int]:
        """Pairs of each stratum in the design of ``budget`` coalitions (about ``budget / 2``
        pairs; fewer strata than pairs get one pair each, the most massive first)."""
        remaining, mass_left = float(budget), sum(self.sample_mass.values())
        counts = {}
        for s in self.sizes:
            full = 2 * self.population[s]
            forced = s == 1 and remaining >= full
            if forced or remaining * self.sample_mass[s] / mass_left >= full - 1e-9:
                counts[s] = self.population[s]
                remaining -= full
                mass_left -= self.sample_mass[s]
            else:
                break
        left = [s for s in self.sizes if s not in counts]
        n_pairs = int(remaining // 2)
        if left and n_pairs >= len(left):
            counts.update(_KernelDesign._allocate(n_pairs, left, self.sample_mass, self.M))
        elif left and n_pairs > 0:
            for s in sorted(left, key=lambda s: -self.sample_mass[s])[:n_pairs]:
                counts[s] = 1
        return {s: r for s, r in counts.items() if r > 0}

    def pairs(self, s: int, r: int) -> np.ndarray:
        """The first ``r`` pairs of stratum ``s``, as masks (r, M) of their size-``s`` side."""
        order = self._orders.get(s)
        if order is None or order.shape[0] < r:
            self._grow(s, r)
            order = self._orders[s]
        return order[:r]

    def _rng(self, s: int) -> np.random.Generator:
        """Each stratum draws from its own stream: its order does not depend on which strata
        grew first (nor, therefore, on the rows of a chunk)."""
        if s not in self._rngs:
            self._rngs[s] = np.random.Generator(np.random.PCG64([self.seed, s]))
        return self._rngs[s]

    def _grow(self, s: int, r: int) -> None:
        M, half = self.M, 2 * self.sizes[-1] == self.M and s == self.sizes[-1]
        rng = self._rng(s)
        have = self._orders.get(s, np.zeros((0, M), dtype=bool))
        if math.comb(M, s) <= 20_000:  # small stratum: one random permutation of all of it
            if have.shape[0] == 0:
                masks = _stratum_masks(M, s, half)
                self._orders[s] = masks[rng.permutation(len(masks))]
            return
        seen = self._seen.setdefault(s, set())
        out = []
        want, got = min(r, self.population[s]) - have.shape[0], 0
        # fixed blocks of random subsets (repeats, rare here, dropped): the order is the same
        # however the stratum is grown, so every chunk of rows meets the same coalitions
        while got < want:
            picks = rng.random((_GROW_BLOCK, M)).argsort(axis=1)[:, :s]
            masks = np.zeros((_GROW_BLOCK, M), dtype=bool)
            np.put_along_axis(masks, picks, True, axis=1)
            if half:
                masks[~masks[:, 0]] = ~masks[~masks[:, 0]]
            new = np.zeros(_GROW_BLOCK, dtype=bool)
            for q, key in enumerate(_keys(masks)):
                if key not in seen:
                    seen.add(key)
                    new[q] = True
            out.append(masks[new])
            got += int(new.sum())
        if out:
            self._orders[s] = np.concatenate([have, *out])
