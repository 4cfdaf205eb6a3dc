"""Fixtures of the experiments tests: the shared project made current (the facades use it),
on the python engine or on the session's SparkSession."""

from __future__ import annotations

import pytest

import eolab


@pytest.fixture
def current(project: eolab.Project) -> eolab.Project:
    """ExtremeEarth on the python engine, current for ``from eolab import experiment``."""
    project.engine = "python"
    eolab.set_current_project(project)
    return project


@pytest.fixture
def spark_current(project: eolab.Project, spark_engine) -> eolab.Project:
    """ExtremeEarth on the spark engine (the session's local[2] SparkSession)."""
    project.engine = "spark"
    eolab.set_current_project(project)
    return project
