"""Monitoring a serving from its inference log: traffic, errors, latency, predictions, drift.

``monitor(servings, name, reference=train_td)`` reads a window of logged requests (the last
``limit``, or those since ``since``) and computes the request rate, the error rate (HTTP codes
>= 400), latency p50/p95/p99, the distribution of predictions, and input drift: the population
stability index (PSI) of each input feature against the reference's distribution, flagged above
``threshold`` (0.2, the usual "significant shift"). PSI over few rows is noisy (20 bins over 100
unchanged rows exceed 0.2 more often than not), so the reference bins are merged into bins of
equal reference mass, one per ``ROWS_PER_BIN`` served rows (images count chips, not pixels:
pixels of one chip move together), and a window under ``MIN_DRIFT_ROWS`` rows gets no drift. For an image input (rows x H x W x C) each
channel is compared with the reference feature it came from (the demonstrator's channels
``band_1, band_2, band_avg``); for a table (rows x K) each column. Reference histograms are the
training dataset's statistics where they have one (scalar features), else they are computed
from a sample of its rows (array features: statistics keep no histogram of elements).
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from eolab.errors import InvalidInput

if TYPE_CHECKING:
    from eolab.serving.consumer import InferenceRecord
    from eolab.serving.servings import Servings

BINS = 20
PREDICTION_BINS = 10
DRIFT_THRESHOLD = 0.2
MIN_DRIFT_ROWS = 50  # below this, PSI of an unchanged feature is mostly noise
ROWS_PER_BIN = 25  # served rows per PSI bin: 20 bins need 500 rows
EPSILON = 1e-4
REFERENCE_ROWS = 2000


@dataclass
class FeatureDrift:
    """PSI of one input column or channel against its reference feature."""

    input: str
    index: int | None  # the channel (image) or column (table); None for a whole input
    feature: str
    psi: float
    flagged: bool
    reference: list[dict[str, float]]  # reference bins: lower, upper, count
    served: list[int]  # served values counted in the same bins


@dataclass
class MonitorReport:
    """What ``monitor`` found over one window of logged requests."""

    serving: str
    requests: int
    window_start: datetime | None
    window_end: datetime | None
    request_rate: float  # requests per second over the window
    error_rate: float
    errors: dict[int, int]
    latency_ms: dict[str, float]  # p50, p95, p99, mean
    predictions: list[dict[str, float]]  # histogram bins: lower, upper, count
    prediction_mean: float | None
    drift: list[FeatureDrift] = field(default_factory=list)
    threshold: float = DRIFT_THRESHOLD
    log_sampling: float = 1.0  # rates are scaled back up when only a fraction was logged
    drift_note: str = ""  # why drift was not computed (too few requests in the window)

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [d for d in self.drift if d.flagged]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("window_start", "window_end"):
            out[key] = out[key].isoformat() if out[key] else None
        out["errors"] = {str(k): v for k, v in self.errors.items()}
        return out

    def _summary(self) -> Any:
        from eolab.widgets import Properties

        lat = self.latency_ms
        window = (
            f"{self.window_start:%Y-%m-%d %H:%M:%S} .. {self.window_end:%H:%M:%S} UTC"
            if self.window_start and self.window_end
            else "no requests"
        )
        return Properties(
            [
                ("requests", self._requests_text()),
                ("window", window),
                ("error rate", f"{self.error_rate:.1%} {self.errors or ''}".strip()),
                ("latency p50/p95/p99", " / ".join(f"{lat.get(k, 0):.1f} ms" for k in ("p50", "p95", "p99"))),
                ("prediction mean", "" if self.prediction_mean is None else f"{self.prediction_mean:.4g}"),
                ("drift", self.drift_note or f"{len(self.drifted)} of {len(self.drift)} feature(s) above PSI {self.threshold}"),
            ],
            title=f"monitoring {self.serving}",
        )  # fmt: skip

    def _requests_text(self) -> str:
        text = f"{self.requests} logged ({self.request_rate:.2f}/s)"
        if self.log_sampling < 1:
            text += f", {self.log_sampling:.0%} of successful requests sampled: rate estimated"
        return text

    def _drift_table(self) -> Any:
        from eolab.widgets import Table

        rows = [
            (d.input if d.index is None else f"{d.input}[{d.index}]", d.feature, round(d.psi, 4),
             "DRIFT" if d.flagged else "ok")
            for d in self.drift
        ]  # fmt: skip
        return Table(("input", "reference feature", "PSI", "flag"), rows, title="input drift")

    def _repr_html_(self) -> str:
        from eolab.featurestore.statistics_view import histogram_svg

        served = [
            histogram_svg([{**b, "count": c} for b, c in zip(d.reference, d.served, strict=True)])
            for d in self.drift
        ]
        drift_rows = "".join(
            f"<tr><td>{html.escape(d.input)}{'' if d.index is None else f'[{d.index}]'}</td>"
            f"<td>{html.escape(d.feature)}</td><td>{d.psi:.4f}</td>"
            f'<td style="color:{"#c00" if d.flagged else "#080"}">'
            f"{'DRIFT' if d.flagged else 'ok'}</td>"
            f"<td>{histogram_svg(d.reference, 120, 30)}</td><td>{svg}</td></tr>"
            for d, svg in zip(self.drift, served, strict=True)
        )
        drift = (
            '<table class="eolab-drift"><caption style="text-align:left"><b>input drift</b> '
            f"(PSI, flagged above {self.threshold})</caption><thead><tr><th>input</th>"
            "<th>reference feature</th><th>PSI</th><th>flag</th><th>reference</th>"
            f"<th>served</th></tr></thead><tbody>{drift_rows}</tbody></table>"
            if self.drift
            else ""
        )
        predictions = histogram_svg(self.predictions, 240, 60)
        return (
            f'<div class="eolab-monitor">{self._summary()._repr_html_()}'
            f"<div><b>predictions</b><br>{predictions}</div>{drift}</div>"
        )

    def __repr__(self) -> str:
        parts = [self._summary().to_text()]
        if self.drift:
            parts.append(self._drift_table().to_text())
        return "\n\n".join(parts)


# ---- numbers ----------------------------------------------------------------------------------


def psi(expected: list[float] | np.ndarray, actual: list[float] | np.ndarray) -> float:
    """Population stability index of two histograms over the same bins (counts or shares)."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.sum() <= 0 or a.sum() <= 0:
        return 0.0
    e = np.maximum(e / e.sum(), EPSILON)
    a = np.maximum(a / a.sum(), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _edges(bins: list[dict[str, float]]) -> np.ndarray:
    return np.asarray([bins[0]["lower"]] + [b["upper"] for b in bins], dtype=np.float64)


def count_in(bins: list[dict[str, float]], values: np.ndarray) -> list[int]:
    """Counts of ``values`` in the reference bins; values outside go to the end bins."""
    edges = _edges(bins)
    if edges[-1] <= edges[0]:
        return [int(values.size)] + [0] * (len(bins) - 1)
    clipped = np.clip(values, edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return counts.astype(int).tolist()


def coarsen(bins: list[dict[str, float]], count: int) -> list[dict[str, float]]:
    """Adjacent bins merged into at most ``count`` bins of about equal reference mass."""
    if count >= len(bins):
        return bins
    mass = np.asarray([b["count"] for b in bins], dtype=np.float64)
    if mass.sum() <= 0:
        return bins
    share = np.cumsum(mass) / mass.sum()
    out, start = [], 0
    for group in range(1, count + 1):
        if start >= len(bins):
            break
        end = len(bins) - 1 if group == count else int(np.searchsorted(share, group / count))
        end = min(max(end, start), len(bins) - 1)
        out.append(
            {
                "lower": bins[start]["lower"],
                "upper": bins[end]["upper"],
                "count": float(mass[start : end + 1].sum()),
            }
        )
        start = end + 1
    return out


def bins_for(rows: int) -> int:
    return int(np.clip(rows // ROWS_PER_BIN, 2, BINS))


def histogram(values: np.ndarray, bins: int = BINS) -> list[dict[str, float]]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        return [{"lower": lo, "upper": hi, "count": int(values.size)}]
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return [
        {"lower": float(edges[i]), "upper": float(edges[i + 1]), "count": int(c)}
        for i, c in enumerate(counts)
    ]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    array = np.asarray(values, dtype=np.float64)
    return {
        "p50": float(np.percentile(array, 50)),
        "p95": float(np.percentile(array, 95)),
        "p99": float(np.percentile(array, 99)),
        "mean": float(array.mean()),
    }


# ---- what was served --------------------------------------------------------------------------


def served_inputs(records: list[InferenceRecord]) -> dict[str, np.ndarray]:
    """The numeric inputs of the answered requests, stacked per input name (rows first)."""
    columns: dict[str, list[np.ndarray]] = {}
    for record in records:
        if record.response_http_code != 200:
            continue
        body = record.request()
        if not isinstance(body, dict):
            continue
        if "instances" in body or "examples" in body:
            rows = body.get("instances", body.get("examples"))
            if rows and all(isinstance(r, dict) for r in rows):
                named = {k: [r[k] for r in rows] for k in rows[0]}
            else:
                named = {"inputs": rows}
        elif isinstance(body.get("inputs"), dict):
            named = body["inputs"]
        else:
            named = {"inputs": body.get("inputs")}
        for key, value in named.items():
            try:
                array = np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                continue
            if array.ndim == 0:
                array = array.reshape(1)
            columns.setdefault(key, []).append(array)
    out = {}
    for key, parts in columns.items():
        tails = {p.shape[1:] for p in parts}
        if len(tails) == 1:
            out[key] = np.concatenate(parts)
    return out


def served_predictions(records: list[InferenceRecord]) -> np.ndarray:
    values: list[np.ndarray] = []
    for record in records:
        if record.response_http_code != 200:
            continue
        body = record.response()
        if not isinstance(body, dict):
            continue
        value = body.get("predictions", body.get("outputs", body.get("result")))
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        values.append(array.reshape(-1))
    return np.concatenate(values) if values else np.zeros(0)


# ---- the reference ----------------------------------------------------------------------------


class Reference:
    """Per feature: its reference histogram, from statistics or from a sample of rows."""

    def __init__(self, source: Any, split: str | None = None) -> None:
        self.source = source
        self.split = split
        self.features: list[dict[str, Any]] = []
        self._stats: dict[str, Any] = {}
        self._frame: Any = None
        if hasattr(source, "features") and hasattr(source, "read"):  # a TrainingDataset
            skip = set(getattr(source, "label", []) or []) | set(
                getattr(source, "primary_key", []) or []
            )
            self.features = [
                {"name": f["name"], "array": bool(f.get("dims"))}
                for f in source.features
                if f["name"] not in skip and f.get("kind") in ("float", "int64")
                and not str(f.get("type", "")).startswith(("timestamp", "date"))
            ]  # fmt: skip
            splits = getattr(source, "splits", {}) or {}
            if self.split is None and splits:
                self.split = "train" if "train" in splits else next(iter(splits))
            try:
                view = source.get_statistics(self.split)
                self._stats = getattr(view, "stats", {}).get("columns", {})
            except Exception:  # noqa: BLE001 - no statistics: histograms come from the rows
                self._stats = {}
        elif hasattr(source, "columns") and hasattr(source, "iloc"):  # a pandas DataFrame
            self._frame = source
            for name in source.columns:
                first = source[name].iloc[0] if len(source) else None
                array = isinstance(first, list | tuple | np.ndarray)
                if array or np.issubdtype(source[name].dtype, np.number):
                    self.features.append({"name": name, "array": array})
        else:
            raise InvalidInput(
                "reference must be a training dataset or a pandas DataFrame of the features, "
                f"got {type(source).__name__}"
            )

    def _rows(self) -> Any:
        if self._frame is None:
            table = self.source.read(self.split, dataframe_type="pyarrow")
            self._frame = table.slice(0, REFERENCE_ROWS).to_pandas()
        return self._frame.iloc[:REFERENCE_ROWS]

    def histogram(self, name: str) -> list[dict[str, float]]:
        bins = self._stats.get(name, {}).get("histogram")
        if bins:
            return bins
        column = self._rows()[name]
        parts = [np.asarray(v, dtype=np.float64).reshape(-1) for v in column if v is not None]
        values = np.concatenate(parts) if parts else np.zeros(0)
        return histogram(values)


def _plan(
    inputs: dict[str, np.ndarray], reference: Reference, features: list[str] | None
) -> list[tuple[str, int | None, str, np.ndarray]]:
    """(input, channel or column, reference feature, served values) to compare; ``inputs``
    arrays have one served row per entry of their first axis."""
    plan = []
    for name, array in inputs.items():
        if array.ndim >= 3:  # rows x H x W [x C]: one value per pixel and channel
            channels = array.shape[-1] if array.ndim >= 4 else 1
            pool = features or [f["name"] for f in reference.features if f["array"]]
            pool = pool or [f["name"] for f in reference.features]
            for c in range(min(channels, len(pool))):
                values = array[..., c] if array.ndim >= 4 else array
                plan.append((name, c if array.ndim >= 4 else None, pool[c], values.reshape(-1)))
        elif array.ndim == 2:  # rows x K: one feature per column
            pool = features or [f["name"] for f in reference.features if not f["array"]]
            for j in range(min(array.shape[1], len(pool))):
                plan.append((name, j, pool[j], array[:, j]))
        else:
            pool = features or [f["name"] for f in reference.features if not f["array"]]
            if pool:
                plan.append((name, None, pool[0], array.reshape(-1)))
    return plan


def check_features(reference: Reference, features: list[str] | None) -> None:
    known = {f["name"] for f in reference.features}
    unknown = [f for f in features or [] if f not in known]
    if unknown:
        raise InvalidInput(
            f"features {unknown} are not numeric features of the reference (it has "
            f"{sorted(known)})",
            details={"field": "features"},
        )


def drift(
    inputs: dict[str, np.ndarray],
    reference: Reference,
    features: list[str] | None = None,
    threshold: float = DRIFT_THRESHOLD,
) -> list[FeatureDrift]:
    check_features(reference, features)
    out = []
    for name, index, feature, values in _plan(inputs, reference, features):
        bins = reference.histogram(feature)
        if not bins:
            continue
        bins = coarsen(bins, bins_for(len(inputs[name])))
        served = count_in(bins, values[np.isfinite(values)])
        value = psi([b["count"] for b in bins], served)
        out.append(FeatureDrift(name, index, feature, value, value > threshold, bins, served))
    return out


def monitor(
    servings: Servings,
    name: str,
    reference: Any = None,
    since: datetime | None = None,
    limit: int = 1000,
    features: list[str] | None = None,
    split: str | None = None,
    threshold: float = DRIFT_THRESHOLD,
) -> MonitorReport:
    """The report over the last ``limit`` logged requests (or those since ``since``)."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        raise InvalidInput(f"threshold must be a positive number, got {threshold!r}")
    if features is not None and (
        not isinstance(features, list) or not all(isinstance(f, str) for f in features)
    ):
        raise InvalidInput(f"features must be a list of feature names, got {features!r}")
    ref = Reference(reference, split) if reference is not None else None
    if ref is not None:
        check_features(ref, features)
    sampling = servings.get_serving(name).log_sampling
    records = servings.get_inference_log(name, since=since, limit=limit)
    times = [r.request_timestamp for r in records]
    span = (max(times) - min(times)).total_seconds() if times else 0.0
    codes: dict[int, int] = {}
    for r in records:
        if r.response_http_code >= 400:
            codes[r.response_http_code] = codes.get(r.response_http_code, 0) + 1
    predictions = served_predictions(records)
    finite = predictions[np.isfinite(predictions)]
    failed = sum(codes.values())
    # only a fraction of the successful requests was logged; every failed one was
    estimated = (len(records) - failed) / sampling + failed
    report = MonitorReport(
        serving=name,
        requests=len(records),
        window_start=min(times) if times else None,
        window_end=max(times) if times else None,
        request_rate=estimated / span if span > 0 else estimated,
        error_rate=failed / estimated if records else 0.0,
        errors=codes,
        latency_ms=percentiles([r.latency_ms for r in records]),
        predictions=histogram(finite, PREDICTION_BINS),
        prediction_mean=float(finite.mean()) if finite.size else None,
        threshold=float(threshold),
        log_sampling=sampling,
    )
    if ref is not None:
        inputs = served_inputs(records)
        rows = max((len(array) for array in inputs.values()), default=0)
        if rows >= MIN_DRIFT_ROWS:
            report.drift = drift(inputs, ref, features, threshold)
        else:
            report.drift_note = (
                f"not computed: {rows} served row(s) in the window, drift needs at least "
                f"{MIN_DRIFT_ROWS} (PSI over fewer is mostly noise)"
            )
    if math.isnan(report.request_rate):
        report.request_rate = 0.0
    return report
