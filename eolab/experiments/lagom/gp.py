"""Gaussian-process Bayesian optimisation with numpy alone: lagom's ``"gp"`` without torch/scipy.

optuna's GPSampler needs torch and scipy (gigabytes); at lagom's scale (tens to hundreds of
trials) the same idea fits in numpy. Every hyperparameter is one coordinate in [0, 1]: DOUBLE
linearly, INTEGER, DISCRETE and CATEGORICAL as equal bins of their values (a coordinate decodes to
the nearest value, so a uniform coordinate is a uniform value). The first ``n_startup`` trials are
uniform random; after that a GP with a Matérn-5/2 kernel is fitted to the finished trials
(targets normalised, length scale and noise chosen by the log marginal likelihood over a small
grid) and the next trial is the point of highest Expected Improvement among random candidates
and perturbations of the best point so far. Trials asked but not yet told count as if they had
scored the best value so far (a constant liar), so that parallel workers get different points; a
point already asked is never proposed again while unasked candidates remain. Past
``MODEL_POINTS`` finished trials the model keeps the best of them (its cost is cubic).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from eolab.errors import InvalidInput
from eolab.experiments.lagom.optimizers import Optimizer
from eolab.experiments.lagom.searchspace import DOUBLE, INTEGER, Hyperparameter, Searchspace
from eolab.experiments.states import FINISHED

LENGTH_SCALES = (0.05, 0.1, 0.2, 0.35, 0.6, 1.0, 2.0)
NOISES = (1e-6, 1e-4, 1e-2, 1e-1)
JITTER = 1e-9
LOCAL_SCALES = (0.01, 0.05, 0.15)  # perturbations of the best point, in [0, 1] units
MODEL_POINTS = 300  # the GP is fitted to the best this many finished trials (cubic cost)
XI = 0.01  # the least improvement (in standard deviations of the targets) EI counts

_erf = np.vectorize(math.erf, otypes=[float])


def matern52(a: np.ndarray, b: np.ndarray, length_scale: float) -> np.ndarray:
    """The Matérn-5/2 kernel (unit variance) between the rows of ``a`` and of ``b``."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    r = np.sqrt(np.maximum(squared, 0.0)) * (math.sqrt(5.0) / length_scale)
    return (1.0 + r + r * r / 3.0) * np.exp(-r)


def expected_improvement(mean: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    """EI below ``best`` (minimisation) of normal predictions ``mean`` ± ``sd``."""
    improvement = best - mean - XI
    z = improvement / sd
    cdf = 0.5 * (1.0 + _erf(z / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return improvement * cdf + sd * pdf


class _Fit:
    """A GP posterior: Cholesky factor of the training kernel and the weights of the targets."""

    def __init__(self, x: np.ndarray, y: np.ndarray, length_scale: float, noise: float) -> None:
        self.x, self.length_scale = x, length_scale
        kernel = matern52(x, x, length_scale) + (noise + JITTER) * np.eye(len(x))
        self.chol = np.linalg.cholesky(kernel)
        self.alpha = np.linalg.solve(self.chol.T, np.linalg.solve(self.chol, y))

    def predict(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cross = matern52(self.x, points, self.length_scale)
        mean = cross.T @ self.alpha
        v = np.linalg.solve(self.chol, cross)
        variance = np.maximum(1.0 - (v * v).sum(0), 1e-12)
        return mean, np.sqrt(variance)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The (length scale, noise) of the grid with the highest log marginal likelihood.

    One eigendecomposition per length scale serves every noise level: with K = Q diag(l) Q',
    y'(K + s I)^-1 y = sum((Q'y)^2 / (l + s)) and log det(K + s I) = sum(log(l + s)).
    """
    best: tuple[float, float, float] | None = None
    for length_scale in LENGTH_SCALES:
        eigenvalues, vectors = np.linalg.eigh(matern52(x, x, length_scale))
        eigenvalues = np.maximum(eigenvalues, 0.0)
        projected = (vectors.T @ y) ** 2
        for noise in NOISES:
            spectrum = eigenvalues + noise + JITTER
            log_likelihood = float(
                -0.5 * (projected / spectrum).sum() - 0.5 * np.log(spectrum).sum()
            )
            if best is None or log_likelihood > best[0]:
                best = (log_likelihood, length_scale, noise)
    assert best is not None
    return best[1], best[2]


def _count(param: Hyperparameter) -> int:
    """How many values ``param`` takes (0: a continuous DOUBLE)."""
    if param.type == DOUBLE:
        return 0
    if param.type == INTEGER:
        return param.high - param.low + 1
    return len(param.values)


def _robust_fit(x: np.ndarray, y: np.ndarray, length_scale: float, noise: float) -> _Fit:
    """A posterior, with more noise where repeated points make the kernel singular."""
    for more in (noise, *(n for n in NOISES if n > noise)):
        try:
            return _Fit(x, y, length_scale, more)
        except np.linalg.LinAlgError:
            continue
    return _Fit(x, y, length_scale, 1.0)


class GaussianProcessSearch(Optimizer):
    """Bayesian optimisation with a GP and Expected Improvement, in numpy (``optimizer="gp"``)."""

    def __init__(self, n_startup: int = 5, candidates: int = 2000) -> None:
        for what, value, least in (("n_startup", n_startup, 1), ("candidates", candidates, 10)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidInput(f"{what} must be an integer >= {least}, got {value!r}")
        self.n_startup = n_startup
        self.candidates = candidates

    def setup(self, searchspace: Searchspace, num_trials: int, direction: str, seed: int) -> None:
        super().setup(searchspace, num_trials, direction, seed)
        self.np_rng = np.random.default_rng(seed)
        self.params: list[Hyperparameter] = list(searchspace)
        # at least half of a small budget is left to the model
        self.startup = max(1, min(self.n_startup, num_trials // 2))
        self.points: dict[str, np.ndarray] = {}  # every asked trial's point in [0, 1]^d
        self.pending: set[str] = set()
        self.observed: dict[str, float] = {}  # finished trials' values, to minimise
        self.asked_keys: set[bytes] = set()

    # ---- the [0, 1] coordinates ----------------------------------------------------------------

    def _bins(self) -> np.ndarray:
        """How many values each coordinate has (0: continuous)."""
        return np.array([_count(p) for p in self.params], dtype=float)

    def _snap(self, points: np.ndarray) -> np.ndarray:
        """Points moved into [0, 1] and onto the centre of their value's bin."""
        points = np.clip(points, 0.0, 1.0)
        bins = self._bins()
        countable = bins > 0
        if countable.any():
            index = np.minimum(
                np.floor(points[:, countable] * bins[countable]), bins[countable] - 1
            )
            points[:, countable] = (index + 0.5) / bins[countable]
        return points

    def _decode(self, point: np.ndarray) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for param, u in zip(self.params, point, strict=True):
            if param.type == DOUBLE:
                value = param.low + float(u) * (param.high - param.low)
                params[param.name] = min(max(value, param.low), param.high)
            else:
                count = _count(param)
                index = min(int(u * count), count - 1)
                params[param.name] = (
                    param.low + index if param.type == INTEGER else param.values[index]
                )
        return params

    # ---- ask / tell ----------------------------------------------------------------------------

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        if self.asked < self.startup or not self.observed:
            point = self._random_point()
        else:
            point = self._proposal()
        self.asked += 1
        self.points[trial_id] = point
        self.pending.add(trial_id)
        self.asked_keys.add(point.tobytes())
        return self._decode(point)

    def tell(self, trial_id: str, value: float | None, state: str) -> None:
        if trial_id not in self.pending:
            return
        self.pending.discard(trial_id)
        # failed, lost and early-stopped trials are left out of the model, as optuna's GPSampler
        # leaves out all but complete trials; their points are still never asked again
        if state == FINISHED and value is not None and math.isfinite(value):
            self.observed[trial_id] = -float(value) if self.direction == "max" else float(value)

    def _unasked(self, points: np.ndarray) -> np.ndarray:
        keep = [i for i, p in enumerate(points) if p.tobytes() not in self.asked_keys]
        return points[keep]

    def _random_point(self) -> np.ndarray:
        points = self._snap(self.np_rng.random((64, len(self.params))))
        fresh = self._unasked(points)
        return fresh[0] if len(fresh) else points[0]

    def _proposal(self) -> np.ndarray:
        ids = sorted(self.observed, key=self.observed.__getitem__)[:MODEL_POINTS]
        x = np.array([self.points[t] for t in ids])
        y = np.array([self.observed[t] for t in ids])
        mean, sd = y.mean(), y.std()
        y = (y - mean) / (sd if sd > 0 else 1.0)
        length_scale, noise = _fit(x, y)
        best = 0  # ids are sorted best first
        # constant liar: a running trial is taken to score the best value seen, so that the
        # model is sure about its point and the next ask goes elsewhere
        pending = sorted(self.pending)
        if pending:
            x = np.vstack([x, [self.points[t] for t in pending]])
            y = np.concatenate([y, np.full(len(pending), y[best])])
        fit = _robust_fit(x, y, length_scale, noise)
        dims = len(self.params)
        local = [
            x[best] + self.np_rng.normal(0.0, scale, (self.candidates // 8, dims))
            for scale in LOCAL_SCALES
        ]
        candidates = self._snap(np.vstack([self.np_rng.random((self.candidates, dims)), *local]))
        fresh = self._unasked(candidates)
        if not len(fresh):  # every candidate was asked already: a small countable space
            return candidates[0]
        means, sds = fit.predict(fresh)
        return fresh[int(np.argmax(expected_improvement(means, sds, float(y[best]))))]

    def describe(self) -> dict[str, Any]:
        return {
            "name": "gp",
            "sampler": "GaussianProcessSearch",
            "kernel": "matern52",
            "n_startup": self.n_startup,
            "candidates": self.candidates,
        }
