"""What a model server instance serves: a TensorFlow SavedModel, or a user's ``predict.py``.

Both answer ``predict(signature_name, {input: array}) -> {output: array}`` and describe their
signatures, so that the server speaks one protocol whatever it serves. TensorFlow is imported
only by a SavedModel server (it takes seconds), never by the python one.

A ``predict.py`` (``model_server="python"``, hops' convention) defines ``class Predict`` whose
``predict(inputs)`` takes the batch (one array, or a dict of arrays when the registered
signature names several inputs) and returns one prediction per row (or a dict of such);
``Predict(model_path)`` or ``Predict()`` is called once when the instance starts. Any model a
Python function can load (scikit-learn with joblib, ONNX…) can be served that way.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from eolab.serving.protocol import DEFAULT_SIGNATURE, Signature, TensorSpec

SAVED_MODEL_FILE = "saved_model.pb"
PREDICT_SCRIPT = "predict.py"
MODEL_SERVERS = ("tensorflow", "python")


class LoadError(Exception):
    """The model could not be loaded; the message is the loader's own error."""


class Servable(ABC):
    """A loaded model with its signatures."""

    signatures: dict[str, Signature]

    @abstractmethod
    def predict(self, signature_name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model on a batch; every output has the batch as its 0-th dimension."""

    def warmup(self) -> None:  # noqa: B027 - most servables need none
        """One call on zeros, so that the first request does not pay for tracing."""


def check_model_folder(model_server: str, path: Path) -> None:
    """Refuse at once (no TensorFlow import) a folder that cannot hold the model."""
    need = SAVED_MODEL_FILE if model_server == "tensorflow" else PREDICT_SCRIPT
    if not (path / need).is_file():
        what = "a TensorFlow SavedModel" if model_server == "tensorflow" else "a python model"
        raise LoadError(f"{path} is not {what}: it has no {need}")


def registry_signature(
    signature: dict[str, Any] | None, default_input: str = "inputs"
) -> Signature:
    """A Signature from the registry's ``{"inputs": {"shape", "dtype"} | {name: {...}},
    "outputs": …}`` (empty when the model was registered without one)."""

    def part(value: Any, default_name: str) -> dict[str, TensorSpec]:
        if not isinstance(value, dict):
            return {}
        if "shape" in value or "dtype" in value:
            return {default_name: TensorSpec.from_dict(default_name, value)}
        return {k: TensorSpec.from_dict(k, v) for k, v in value.items() if isinstance(v, dict)}

    signature = signature or {}
    return Signature(
        part(signature.get("inputs"), default_input), part(signature.get("outputs"), "outputs")
    )


def load_servable(
    model_server: str, path: str | Path, signature: dict[str, Any] | None = None
) -> Servable:
    """Load the model at ``path`` once, or raise LoadError with the loader's message."""
    path = Path(path)
    check_model_folder(model_server, path)
    if model_server == "tensorflow":
        return SavedModelServable(path)
    return PythonServable(path, signature)


class SavedModelServable(Servable):
    """A TensorFlow SavedModel called through its signature functions."""

    def __init__(self, path: Path) -> None:
        try:
            import tensorflow as tf
        except ImportError as exc:  # the [tf] extra is not installed
            raise LoadError(f"model_server='tensorflow' needs TensorFlow: {exc}") from exc
        self._tf = tf
        try:
            self._loaded = tf.saved_model.load(str(path))
        except Exception as exc:  # noqa: BLE001 - any loader failure is the model's
            raise LoadError(f"cannot load the SavedModel at {path}: {exc}") from exc
        self._functions = dict(getattr(self._loaded, "signatures", {}) or {})
        if not self._functions:
            raise LoadError(f"the SavedModel at {path} has no serving signatures")
        self.signatures = {name: self._describe(fn) for name, fn in self._functions.items()}

    @staticmethod
    def _spec(name: str, spec: Any) -> TensorSpec:
        dims = None if spec.shape.rank is None else tuple(spec.shape.as_list())
        return TensorSpec(name, spec.dtype.name, dims)

    def _describe(self, fn: Any) -> Signature:
        _, kwargs = fn.structured_input_signature
        outputs = fn.structured_outputs
        if not isinstance(outputs, dict):
            outputs = {"output_0": outputs}
        return Signature(
            {k: self._spec(k, v) for k, v in kwargs.items()},
            {k: self._spec(k, v) for k, v in outputs.items()},
        )

    def predict(self, signature_name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        tf = self._tf
        result = self._functions[signature_name](**{k: tf.constant(v) for k, v in inputs.items()})
        if not isinstance(result, dict):
            result = {"output_0": result}
        return {k: v.numpy() for k, v in result.items()}

    def warmup(self) -> None:
        signature = self.signatures.get(DEFAULT_SIGNATURE)
        if signature is None or not signature.inputs:
            return
        zeros = {}
        for name, spec in signature.inputs.items():
            if spec.shape is None or spec.dtype in (None, "string"):
                return
            zeros[name] = np.zeros([1 if d is None else d for d in spec.shape], spec.dtype)
        self.predict(DEFAULT_SIGNATURE, zeros)


class PythonServable(Servable):
    """``predict.py``'s ``Predict`` class, instantiated once."""

    def __init__(self, path: Path, signature: dict[str, Any] | None) -> None:
        script = path / PREDICT_SCRIPT
        module_name = f"eolab_predict_{abs(hash(str(path)))}"
        sys.path.insert(0, str(path))  # helpers next to predict.py import as usual
        try:
            spec = importlib.util.spec_from_file_location(module_name, script)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            cls = getattr(module, "Predict", None)
            if cls is None or not callable(getattr(cls, "predict", None)):
                raise LoadError(f"{script} must define class Predict with a predict(inputs) method")
            takes_path = len(inspect.signature(cls).parameters) >= 1
            self._model = cls(str(path)) if takes_path else cls()
        except LoadError:
            raise
        except Exception as exc:  # noqa: BLE001 - the user's code failed to load
            last = traceback.extract_tb(exc.__traceback__)[-1]
            raise LoadError(
                f"{script} failed to load: {type(exc).__name__}: {exc} "
                f"({Path(last.filename).name}, line {last.lineno})"
            ) from exc
        self.signatures = {DEFAULT_SIGNATURE: registry_signature(signature)}

    def predict(self, signature_name: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        argument: Any = next(iter(inputs.values())) if len(inputs) == 1 else inputs
        result = self._model.predict(argument)
        if isinstance(result, dict):
            return {k: np.asarray(v) for k, v in result.items()}
        return {"outputs": np.asarray(result)}
