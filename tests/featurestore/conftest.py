"""Fixtures of the feature store tests, chained on the shared ones: temporary EOLAB_HOME →
workspace (alice, admin) → project ExtremeEarth → its FeatureStore on one engine.

``fs`` is the python engine's store; ``spark_fs`` the spark engine's (on the session's one
SparkSession); ``engine_fs`` runs a test once per engine. ``chips`` makes SAR-chip-like rows
(two 75×75 bands, incidence angle, label) with ids from ``start``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import eolab
from eolab.featurestore import FeatureStore

SIDE = 75


def make_chips(n: int, start: int = 0, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "id": ids,
            "band_1": [(rng.normal(-20, 5, SIDE * SIDE) + shift).astype(np.float32) for _ in ids],
            "band_2": [rng.normal(-25, 5, SIDE * SIDE) for _ in ids],  # list<double>
            "inc_angle": rng.normal(38.0, 4.0, n) + shift,
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


@pytest.fixture
def spark_fs(project: eolab.Project, spark_engine) -> FeatureStore:
    """The feature store of ExtremeEarth on the spark engine (the session's SparkSession)."""
    assert spark_engine.session is not None  # started once per test session
    project.engine = "spark"
    return project.get_feature_store()


@pytest.fixture(params=["python", "spark"])
def engine_fs(request: pytest.FixtureRequest, project: eolab.Project) -> FeatureStore:
    """The feature store of ExtremeEarth on each engine in turn."""
    if request.param == "spark":
        assert request.getfixturevalue("spark_engine").session is not None
    project.engine = request.param
    return project.get_feature_store()
