"""TensorFlow Serving's REST protocol: request bodies in, tensors out, responses back.

Pure functions, no server: the model server, the proxy and the REST face share them, so that
a TF-Serving client sees the same shapes and the same ``{"error": "…"}`` bodies everywhere.
Request and response shapes follow TF Serving's ``api_rest`` document:

- predict, row format ``{"signature_name", "instances": [...]}`` → ``{"predictions": [...]}``;
  columnar ``{"inputs": ...}`` → ``{"outputs": ...}``; one named output is given bare, several
  as a list of objects (rows) or an object (columns);
- classify / regress ``{"signature_name", "context", "examples": [{feature: value}]}`` →
  ``{"result": [[[label, score], ...], ...]}`` / ``{"result": [value, ...]}``;
- model status ``{"model_version_status": [...]}``, metadata ``{"model_spec", "metadata"}``.

Unlike TF Serving, NaN and infinite inputs are refused (400): a model fed NaN answers NaN, and
the inference log would keep it as if it were a prediction.
"""

from __future__ import annotations

import base64
import functools
import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from pyarrow import csv

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
VERBS = ("predict", "classify", "regress")

# numpy dtype name -> TensorFlow DataType name (metadata responses)
_TF_DTYPES = {
    "float16": "DT_HALF",
    "float32": "DT_FLOAT",
    "float64": "DT_DOUBLE",
    "int8": "DT_INT8",
    "int16": "DT_INT16",
    "int32": "DT_INT32",
    "int64": "DT_INT64",
    "uint8": "DT_UINT8",
    "uint16": "DT_UINT16",
    "uint32": "DT_UINT32",
    "uint64": "DT_UINT64",
    "bool": "DT_BOOL",
    "string": "DT_STRING",
}


class ProtocolError(Exception):
    """A request TF Serving would refuse: HTTP ``status`` and the message of its error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.message}


def bad_request(message: str) -> ProtocolError:
    return ProtocolError(400, message)


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output: numpy dtype name (None: any) and shape (None: any rank;
    a None dimension: any size)."""

    name: str
    dtype: str | None
    shape: tuple[int | None, ...] | None

    def shape_text(self) -> str:
        if self.shape is None:
            return "any shape"
        return "[" + ", ".join("-1" if d is None else str(d) for d in self.shape) + "]"

    def describe(self) -> str:
        return f"{self.shape_text()} {self.dtype or 'any dtype'}"

    def to_tf(self, signature_name: str) -> dict[str, Any]:
        """TensorInfo as TF Serving's metadata API writes it."""
        shape: dict[str, Any] = {"dim": [], "unknown_rank": self.shape is None}
        if self.shape is not None:
            shape["dim"] = [{"size": str(-1 if d is None else d), "name": ""} for d in self.shape]
        return {
            "dtype": _TF_DTYPES.get(self.dtype or "", "DT_INVALID"),
            "tensor_shape": shape,
            "name": f"{signature_name}_{self.name}:0",
        }

    @classmethod
    def from_dict(cls, name: str, spec: dict[str, Any]) -> TensorSpec:
        """From the registry's signature form ``{"shape": [-1, 4], "dtype": "float32"}``."""
        shape = spec.get("shape")
        dims = None if shape is None else tuple(None if d in (-1, None) else int(d) for d in shape)
        return cls(name, spec.get("dtype"), dims)


@dataclass(frozen=True)
class Signature:
    """A serving signature: named inputs and outputs (either may be empty: not known)."""

    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec] = field(default_factory=dict)
    method_name: str = PREDICT_METHOD

    def to_tf(self, name: str) -> dict[str, Any]:
        return {
            "inputs": {k: v.to_tf(name) for k, v in self.inputs.items()},
            "outputs": {k: v.to_tf(name) for k, v in self.outputs.items()},
            "method_name": self.method_name,
        }


@dataclass
class InferenceRequest:
    """A parsed request: the tensors per input name, how the answer must be shaped, and its
    batch size (rows) when every input shares the 0-th dimension (batching needs that)."""

    verb: str
    signature_name: str
    inputs: dict[str, np.ndarray]
    columnar: bool
    rows: int | None


# ---- bodies -------------------------------------------------------------------------------


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or 400 saying what was wrong with it."""
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise bad_request(f"malformed JSON in request body: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request(f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def _signature(body: dict[str, Any], signatures: dict[str, Signature]) -> tuple[str, Signature]:
    name = body.get("signature_name") or DEFAULT_SIGNATURE
    if not isinstance(name, str):
        raise bad_request(f"signature_name must be a string, got {name!r}")
    if name not in signatures:
        raise bad_request(
            f'Serving signature name: "{name}" not found in signature def '
            f"(the model has {sorted(signatures)})"
        )
    return name, signatures[name]


# ---- the fast path: a row-format body of one numeric tensor --------------------------------

_SKELETON_DELETE = b"0123456789.eE+- \t\n\r"  # what numbers and whitespace are made of
_NUMERIC_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64")


@functools.lru_cache(maxsize=32)
def _skeleton(shape: tuple[int, ...]) -> bytes:
    """Brackets and commas of a regular nested list of ``shape`` (numbers and spaces left out)."""
    if len(shape) == 1:
        return b"[" + b"," * max(shape[0] - 1, 0) + b"]"
    inner = _skeleton(shape[1:])
    return b"[" + b",".join([inner] * shape[0]) + b"]"


def _numbers(text: bytes, dtype: str) -> np.ndarray | None:
    """The numbers of a bracket-free, comma-separated list, parsed by Arrow's CSV reader
    (several times faster than building Python floats with ``json.loads``)."""
    try:
        table = csv.read_csv(
            io.BytesIO(text.replace(b",", b"\n")),
            read_options=csv.ReadOptions(column_names=["v"], use_threads=False),
            parse_options=csv.ParseOptions(newlines_in_values=False),
            convert_options=csv.ConvertOptions(column_types={"v": pa.from_numpy_dtype(dtype)}),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    column = table.column(0)
    if column.null_count:
        return None
    # from the buffers: pyarrow's to_numpy() spends seconds on its first call (lazy imports)
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype)[chunk.offset : chunk.offset + len(chunk)]
        for chunk in column.chunks
    ]
    return np.concatenate(parts) if parts else None  # a writable copy, not Arrow's memory


def parse_predict_fast(raw: bytes, signatures: dict[str, Signature]) -> InferenceRequest | None:
    """``{"signature_name": …, "instances": <numbers>}`` for a model of one numeric input
    with a known shape, parsed without Python lists; None when the body is anything else (the
    general parser then handles it, and words any error)."""
    key = raw.find(b'"instances"')
    start = raw.find(b"[", key)
    end = raw.rfind(b"]")
    if key < 0 or start < 0 or end < start or raw[end + 1 :].strip() != b"}":
        return None
    if raw[key + len(b'"instances"') : start].strip() != b":":
        return None
    try:
        envelope = json.loads(raw[:key] + b'"instances": null}')
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(envelope, dict) or set(envelope) - {"signature_name", "instances"}:
        return None
    name, signature = _signature(envelope, signatures)
    if len(signature.inputs) != 1:
        return None
    spec = next(iter(signature.inputs.values()))
    if spec.dtype not in _NUMERIC_DTYPES or not spec.shape or None in spec.shape[1:]:
        return None
    text = raw[start : end + 1]
    values = _numbers(text.translate(None, b"[]"), spec.dtype)
    inner = int(np.prod(spec.shape[1:], dtype=np.int64))
    if values is None or not len(values) or len(values) % inner:
        return None
    shape = (len(values) // inner, *spec.shape[1:])
    if spec.shape[0] is not None and shape[0] != spec.shape[0]:
        return None
    if text.translate(None, _SKELETON_DELETE) != _skeleton(shape):
        return None  # not a regular nested list of that shape
    array = values.reshape(shape)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return None
    return InferenceRequest("predict", name, {spec.name: array}, False, shape[0])


def parse_predict(body: dict[str, Any], signatures: dict[str, Signature]) -> InferenceRequest:
    """A ``:predict`` body in row (``instances``) or columnar (``inputs``) format."""
    name, signature = _signature(body, signatures)
    unknown = set(body) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise bad_request(
            f"unknown keys {sorted(unknown)} in predict request; expected 'signature_name' "
            "and one of 'instances' (row format) or 'inputs' (columnar format)"
        )
    if "instances" in body and "inputs" in body:
        raise bad_request(
            "the request has both 'instances' and 'inputs'; send one of them (row format "
            "'instances' or columnar format 'inputs')"
        )
    if "instances" in body:
        inputs = _rows_to_columns(body["instances"], signature, "instances")
        return InferenceRequest("predict", name, inputs, False, _rows(inputs))
    if "inputs" in body:
        inputs = _columns(body["inputs"], signature)
        return InferenceRequest("predict", name, inputs, True, _rows(inputs))
    raise bad_request("missing 'instances' (row format) or 'inputs' (columnar format)")


def parse_examples(
    body: dict[str, Any], signatures: dict[str, Signature], verb: str
) -> InferenceRequest:
    """A ``:classify`` or ``:regress`` body: examples (plus a shared context) as model inputs."""
    name, signature = _signature(body, signatures)
    unknown = set(body) - {"signature_name", "context", "examples"}
    if unknown:
        raise bad_request(
            f"unknown keys {sorted(unknown)} in {verb} request; expected 'signature_name', "
            "'context' and 'examples'"
        )
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise bad_request(f"'examples' must be a non-empty list of objects, got {examples!r:.80}")
    context = body.get("context") or {}
    if not isinstance(context, dict):
        raise bad_request(f"'context' must be an object of feature values, got {context!r:.80}")
    rows = []
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise bad_request(f"example {i} must be an object of feature values")
        clash = set(example) & set(context)
        if clash:
            raise bad_request(f"features {sorted(clash)} are in both 'context' and example {i}")
        rows.append({**context, **example})
    if len(signature.inputs) == 1:
        only = next(iter(signature.inputs))
        if all(len(r) == 1 for r in rows):  # one feature per example: it is the model's input
            rows = [{only: next(iter(r.values()))} for r in rows]
    inputs = _rows_to_columns(rows, signature, "examples")
    return InferenceRequest(verb, name, inputs, False, len(examples))


def _rows(inputs: dict[str, np.ndarray]) -> int | None:
    sizes = {a.shape[0] if a.ndim else None for a in inputs.values()}
    return sizes.pop() if len(sizes) == 1 else None


def _rows_to_columns(instances: Any, signature: Signature, key: str) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise bad_request(f"'{key}' must be a non-empty list, got {_preview(instances)}")
    names = list(signature.inputs)
    if all(isinstance(row, dict) and not _is_b64(row) for row in instances):
        columns: dict[str, list[Any]] = {}
        expected = set(names) if names else set(instances[0])
        for i, row in enumerate(instances):
            if set(row) != expected:
                raise bad_request(
                    f"{key}[{i}] has inputs {sorted(row)}; expected {sorted(expected)} "
                    "(every instance must name the same inputs)"
                )
            for input_name, value in row.items():
                columns.setdefault(input_name, []).append(value)
        return {n: _to_array(v, _spec(signature, n)) for n, v in columns.items()}
    if len(names) > 1:
        raise bad_request(
            f"the model has {len(names)} named inputs {names}: each of '{key}' must be an "
            "object with one value per input"
        )
    name = names[0] if names else "inputs"
    return {name: _to_array(instances, _spec(signature, name))}


def _columns(inputs: Any, signature: Signature) -> dict[str, np.ndarray]:
    names = list(signature.inputs)
    if isinstance(inputs, dict) and not _is_b64(inputs):
        expected = set(names) if names else set(inputs)
        if set(inputs) != expected:
            raise bad_request(f"'inputs' names {sorted(inputs)}; expected {sorted(expected)}")
        return {n: _to_array(v, _spec(signature, n)) for n, v in inputs.items()}
    if len(names) > 1:
        raise bad_request(
            f"the model has {len(names)} named inputs {names}: 'inputs' must be an object "
            "with one tensor per input"
        )
    name = names[0] if names else "inputs"
    return {name: _to_array(inputs, _spec(signature, name))}


def _spec(signature: Signature, name: str) -> TensorSpec:
    return signature.inputs.get(name) or TensorSpec(name, None, None)


def _preview(value: Any, width: int = 80) -> str:
    text = json.dumps(value) if not isinstance(value, np.ndarray) else repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"}


def _decode_b64(value: Any) -> Any:
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (ValueError, TypeError) as exc:
            raise bad_request(f"invalid base64 value: {exc}") from None
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    return value


def _to_array(value: Any, spec: TensorSpec) -> np.ndarray:
    """``value`` as an array of the input's dtype and shape, or 400 saying expected vs given."""
    if spec.dtype == "string":
        array = np.asarray(_decode_b64(value), dtype=object)
    else:
        try:
            array = np.asarray(value, dtype=spec.dtype) if spec.dtype else np.asarray(value)
        except (ValueError, TypeError) as exc:
            reason = "ragged (lists of different lengths)" if "inhomogeneous" in str(exc) else exc
            raise bad_request(
                f"input '{spec.name}' expects numbers of dtype {spec.dtype or 'number'} "
                f"and shape {spec.shape_text()}; got values that are not: {reason}"
            ) from None
        if array.dtype.kind in "OUS" and spec.dtype is None:
            raise bad_request(
                f"input '{spec.name}' must be numeric; got non-numeric values "
                f"({_preview(value, 60)})"
            )
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            bad = int((~np.isfinite(array)).sum())
            raise bad_request(
                f"input '{spec.name}' has {bad} NaN or infinite value(s); expected finite numbers"
            )
    if spec.shape is not None:
        given = list(array.shape)
        if len(given) != len(spec.shape) or any(
            d is not None and d != g for d, g in zip(spec.shape, given, strict=False)
        ):
            raise bad_request(
                f"input '{spec.name}' expects shape {spec.shape_text()} ({spec.dtype}), got "
                f"shape [{', '.join(str(g) for g in given)}]"
            )
    return array


# ---- responses ----------------------------------------------------------------------------


def _plain(value: np.ndarray) -> Any:
    if value.dtype.kind in "OSU":
        flat = [
            {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v
            for v in value.reshape(-1).tolist()
        ]
        return np.asarray(flat, dtype=object).reshape(value.shape).tolist()
    return value.tolist()


def format_predict(outputs: dict[str, np.ndarray], columnar: bool) -> dict[str, Any]:
    """``{"predictions": …}`` (row request) or ``{"outputs": …}`` (columnar request)."""
    if columnar:
        if len(outputs) == 1:
            return {"outputs": _plain(next(iter(outputs.values())))}
        return {"outputs": {k: _plain(v) for k, v in outputs.items()}}
    if len(outputs) == 1:
        return {"predictions": _plain(next(iter(outputs.values())))}
    rows = len(next(iter(outputs.values())))
    plain = {k: _plain(v) for k, v in outputs.items()}
    return {"predictions": [{k: plain[k][i] for k in plain} for i in range(rows)]}


def format_classify(outputs: dict[str, np.ndarray], rows: int) -> dict[str, Any]:
    """``{"result": [[[label, score], ...] per example]}``: labels from a ``classes`` output
    when the model has one, else the class index; a one-column score in [0, 1] (a sigmoid) is
    read as class 1's probability, so that both classes are listed."""
    scores = outputs.get("scores")
    if scores is None:
        if len(outputs) != 1:
            raise bad_request(
                f"classify needs a model with one output or a 'scores' output, this one has "
                f"{sorted(outputs)}"
            )
        scores = next(iter(outputs.values()))
    scores = np.asarray(scores, dtype=np.float64).reshape(rows, -1)
    classes = outputs.get("classes")
    if scores.shape[1] == 1 and ((scores >= 0) & (scores <= 1)).all():
        scores = np.concatenate([1.0 - scores, scores], axis=1)
    if classes is not None:
        labels = np.asarray(classes).reshape(rows, -1).astype(str).tolist()
    else:
        labels = [[str(i) for i in range(scores.shape[1])]] * rows
    return {
        "result": [
            [[label, float(s)] for label, s in zip(labels[r], scores[r], strict=False)]
            for r in range(rows)
        ]
    }


def format_regress(outputs: dict[str, np.ndarray], rows: int) -> dict[str, Any]:
    """``{"result": [value per example]}``; the model must give one number per example."""
    if len(outputs) != 1:
        raise bad_request(f"regress needs a model with one output, this one has {sorted(outputs)}")
    name, values = next(iter(outputs.items()))
    values = np.asarray(values, dtype=np.float64).reshape(rows, -1)
    if values.shape[1] != 1:
        raise bad_request(
            f"regress needs one value per example; output '{name}' gives {values.shape[1]}"
        )
    return {"result": values[:, 0].tolist()}


def model_status(version: int, state: str = "AVAILABLE", error: str = "") -> dict[str, Any]:
    """``GET /v1/models/{name}[/versions/{v}]``: the one version this server holds."""
    return {
        "model_version_status": [
            {
                "version": str(version),
                "state": state,
                "status": {"error_code": "UNKNOWN" if error else "OK", "error_message": error},
            }
        ]
    }


def model_metadata(name: str, version: int, signatures: dict[str, Signature]) -> dict[str, Any]:
    """``GET …/metadata``: GetModelMetadataResponse with the signature defs."""
    return {
        "model_spec": {"name": name, "signature_name": "", "version": str(version)},
        "metadata": {
            "signature_def": {
                "signature_def": {k: s.to_tf(k) for k, s in signatures.items()},
            }
        },
    }


def servable_not_found(name: str, version: int | None) -> ProtocolError:
    which = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
    return ProtocolError(404, f"Servable not found for request: {which}")
