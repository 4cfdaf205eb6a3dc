"""Fixtures of the validation tests, chained on the shared ones: temporary EOLAB_HOME →
workspace (alice) → project ExtremeEarth → its FeatureStore on one engine → saved expectations.

``engine_fs`` runs a test once per engine (the session's one SparkSession for spark).
``chips(n)`` makes SAR-chip-like rows (two small bands, incidence angle, label) with ids from
``start``; ``label_rules`` is the demonstrator's expectation (0 ≤ is_iceberg ≤ 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import eolab
from eolab.featurestore import FeatureStore
from eolab.validation import Expectation, Rule

SIDE = 4  # bands of 4×4: arrays without the cost of 75×75


def make_chips(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": ids,
            "band_1": [rng.normal(-20, 5, SIDE * SIDE).astype(np.float32) for _ in ids],
            "inc_angle": rng.normal(38.0, 4.0, n),
            "is_iceberg": (ids % 2).astype(np.int64),
        }
    )


@pytest.fixture
def chips() -> Callable[..., pd.DataFrame]:
    return make_chips


@pytest.fixture
def fs(project: eolab.Project) -> FeatureStore:
    """The feature store of ExtremeEarth on the python engine."""
    project.engine = "python"
    return project.get_feature_store()


@pytest.fixture(params=["python", "spark"])
def engine_fs(request: pytest.FixtureRequest, project: eolab.Project) -> FeatureStore:
    """The feature store of ExtremeEarth on each engine in turn."""
    if request.param == "spark":
        assert request.getfixturevalue("spark_engine").session is not None
    project.engine = request.param
    return project.get_feature_store()


@pytest.fixture
def label_rules(fs: FeatureStore) -> Expectation:
    """The demonstrator's saved expectation: is_iceberg between 0 and 1, id never null."""
    return fs.create_expectation(
        "iceberg_label",
        "labels are 0 or 1",
        ["is_iceberg"],
        [Rule("HAS_MIN", min=0), Rule("HAS_MAX", max=1)],
    ).save()


@pytest.fixture
def no_null_ids(fs: FeatureStore) -> Expectation:
    return fs.create_expectation(
        "id_present", "", ["id"], [Rule("HAS_DATATYPE", accepted_type="Null", max=0)]
    ).save()


@pytest.fixture
def data_files() -> Callable[[Any], list[str]]:
    """``data_files(fg)``: the Parquet files of a feature group (none when nothing was written)."""

    def files(fg: Any) -> list[str]:
        root = fg.feature_store.project.root / "FeatureStore"
        return sorted(str(p) for p in root.rglob("*.parquet")) if root.exists() else []

    return files
