"""Fixtures of the serving tests: one workspace for the whole session (servings are processes
that outlive a test), one tiny SavedModel, python models, and servings started once.

Session chain: ``serving_home`` → ``serving_ws`` (alice, admin) → ``serving_project``
(ExtremeEarth, with bob a user who is no member) → models → started servings, stopped at the
end of the session. Tests that change a serving's life (crash, switch, stop) use their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import eolab
from eolab.models.registry import ModelRegistry
from eolab.serving.servings import Servings

TINY_MODEL = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    inputs = tf.keras.Input((4,), name="x")
    hidden = tf.keras.layers.Dense(3, activation="relu", name="hidden")(inputs)
    outputs = tf.keras.layers.Dense(1, activation="sigmoid", name="p")(hidden)
    tf.saved_model.save(tf.keras.Model(inputs, outputs), sys.argv[1])
    """
)

# predict.py of the python model server: sums each row, plus OFFSET; records batch sizes
PREDICT = textwrap.dedent(
    """
    import os
    import numpy as np

    OFFSET = {offset}


    class Predict:
        def __init__(self, path):
            self.sizes = os.environ.get("EOLAB_TEST_BATCH_FILE")

        def predict(self, inputs):
            array = np.asarray(inputs, dtype=np.float64)
            if self.sizes:
                with open(self.sizes, "a") as handle:
                    handle.write(f"{{len(array)}}\\n")
            {slow}
            return (array.reshape(len(array), -1).sum(axis=1) + OFFSET).tolist()
    """
)
SIGNATURE = {"inputs": {"shape": [-1, 4], "dtype": "float32"}}


def python_model(folder: Path, offset: float = 0.0, slow: float = 0.0, body: str = "") -> Path:
    """A ``model_server="python"`` model folder (``body`` replaces the whole predict.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    pause = f"import time; time.sleep({slow})" if slow else "pass"
    (folder / "predict.py").write_text(body or PREDICT.format(offset=offset, slow=pause))
    return folder


@pytest.fixture(scope="session")
def serving_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serving") / "home"


@pytest.fixture(scope="session")
def serving_ws(serving_home: Path) -> Iterator[eolab.Workspace]:
    ws = eolab.Workspace.open(serving_home, user="alice")
    ws.create_user("bob")
    yield ws


@pytest.fixture(scope="session")
def serving_project(serving_ws: eolab.Workspace) -> Iterator[eolab.Project]:
    project = serving_ws.create_project("ExtremeEarth")
    yield project
    for serving in project.serving.get_servings():
        project.serving.stop(serving.name)


@pytest.fixture(scope="session")
def registry(serving_project: eolab.Project) -> ModelRegistry:
    return ModelRegistry(serving_project)


@pytest.fixture(scope="session")
def sv(serving_project: eolab.Project) -> Servings:
    return serving_project.serving


@pytest.fixture(scope="session")
def tiny_saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tf.keras Dense model (4 -> 3 -> 1 sigmoid) saved as a SavedModel, in a subprocess so
    that this process does not import TensorFlow."""
    path = tmp_path_factory.mktemp("tiny") / "model"
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    subprocess.run(
        [sys.executable, "-c", TINY_MODEL, str(path)], check=True, env=env, capture_output=True
    )
    return path


@pytest.fixture(scope="session")
def tf_serving(sv: Servings, registry: ModelRegistry, tiny_saved_model: Path) -> str:
    """Serving ``Tiny`` of the tiny SavedModel: one TensorFlow instance, logging on."""
    registry.export(tiny_saved_model, "tiny")
    sv.create_or_update("Tiny", "tiny", 1)
    sv.start("Tiny")
    return "Tiny"


@pytest.fixture(scope="session")
def summer(sv: Servings, registry: ModelRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Serving ``Summer``: the python row-sum model on two instances, logging on."""
    folder = tmp_path_factory.mktemp("summer")
    registry.export(python_model(folder / "v1"), "summer", signature=SIGNATURE)
    sv.create_or_update("Summer", "summer", 1, model_server="python", instances=2)
    sv.start("Summer")
    return "Summer"
