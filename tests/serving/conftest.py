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
import threading
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


_TF_WANTED = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Note whether any collected test needs the TensorFlow serving (it starts early)."""
    global _TF_WANTED
    _TF_WANTED = any("tf_serving" in getattr(item, "fixturenames", ()) for item in items)


class Background(threading.Thread):
    """Builds the tiny SavedModel and starts serving ``Tiny`` while other tests run: both
    import TensorFlow (about 10 s each), which the python-model tests need not wait for."""

    def __init__(self, project: eolab.Project, folder: Path) -> None:
        super().__init__(name="tf-serving-setup", daemon=True)
        self.project = project
        self.folder = folder
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
            subprocess.run(
                [sys.executable, "-c", TINY_MODEL, str(self.folder)],
                check=True, env=env, capture_output=True,
            )  # fmt: skip
            ModelRegistry(self.project).export(self.folder, "tiny")
            self.project.serving.create_or_update("Tiny", "tiny", 1)
            self.project.serving.start("Tiny")
        except BaseException as exc:  # noqa: BLE001 - reported by the tf_serving fixture
            self.error = exc


@pytest.fixture(scope="session")
def serving_project(
    serving_ws: eolab.Workspace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[eolab.Project]:
    """ExtremeEarth; when TensorFlow tests were collected, serving ``Tiny`` starts at once in
    the background."""
    project = serving_ws.create_project("ExtremeEarth")
    setup = None
    if _TF_WANTED:
        setup = Background(project, tmp_path_factory.mktemp("tiny") / "model")
        setup.start()
    project.tf_setup = setup  # type: ignore[attr-defined]
    yield project
    if setup is not None:
        setup.join()
    for serving in project.serving.get_servings():
        project.serving.stop(serving.name)


@pytest.fixture(scope="session")
def registry(serving_project: eolab.Project) -> ModelRegistry:
    return ModelRegistry(serving_project)


@pytest.fixture(scope="session")
def sv(serving_project: eolab.Project) -> Servings:
    return serving_project.serving


@pytest.fixture(scope="session")
def tf_serving(serving_project: eolab.Project) -> str:
    """Serving ``Tiny``: a tf.keras Dense model (4 -> 3 -> 1 sigmoid) saved as a SavedModel
    (in a subprocess: this process never imports TensorFlow), one TensorFlow instance,
    logging on."""
    setup = serving_project.tf_setup  # type: ignore[attr-defined]
    assert setup is not None, "the TensorFlow serving was not started at session start"
    setup.join()
    if setup.error is not None:
        raise setup.error
    return "Tiny"


@pytest.fixture(scope="session")
def summer(sv: Servings, registry: ModelRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Serving ``Summer``: the python row-sum model on two instances, logging on."""
    folder = tmp_path_factory.mktemp("summer")
    registry.export(python_model(folder / "v1"), "summer", signature=SIGNATURE)
    sv.create_or_update("Summer", "summer", 1, model_server="python", instances=2)
    sv.start("Summer")
    return "Summer"
