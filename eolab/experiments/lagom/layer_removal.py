"""Rebuild a Keras model without some of its layers, for layer ablation.

A Sequential model is rebuilt from its config with the layers left out (each remaining layer
is built again for the shape it now receives). A functional model is cloned with each removed
layer replaced by a pass-through (a linear ``Activation``, named ``ablated_<name>``), so the
graph keeps its wiring; a removed layer must then have exactly one input. Input and output
layers cannot be removed. The result must still build and give the base model's output shape;
when it does not (a ``Flatten`` between convolutions and a ``Dense``...), InvalidInput says so.
Works with Keras 3 and with tf-keras (the model's own Keras is used).
"""

from __future__ import annotations

import sys
from typing import Any

from eolab.errors import InvalidInput


def _keras_of(model: Any) -> Any:
    """The Keras package the model belongs to (``keras`` or ``tf_keras``)."""
    root = type(model).__module__.split(".")[0]
    module = sys.modules.get(root)
    if module is None or not hasattr(module, "Sequential"):
        raise InvalidInput(
            f"the base model generator must return a Keras model, got {type(model).__name__}"
        )
    return module


def _is_input(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


def _output_names(model: Any) -> set[str]:
    names = set()
    for tensor in getattr(model, "outputs", None) or []:
        history = getattr(tensor, "_keras_history", None)
        if history is not None:
            names.add(history[0].name)
    if not names and model.layers:
        names.add(model.layers[-1].name)
    return names


def _kind(model: Any, keras: Any) -> str:
    if isinstance(model, keras.Sequential):
        return "sequential"
    if type(model).__name__ in ("Functional", "Model") and getattr(model, "outputs", None):
        return "functional"
    raise InvalidInput(
        f"layer ablation rebuilds Sequential or functional Keras models; a "
        f"{type(model).__name__} (subclassed) model cannot be rebuilt without a layer"
    )


def layer_names(model: Any) -> list[str]:
    """The model's layers, in order, that can be removed (neither input nor output)."""
    keras = _keras_of(model)
    _kind(model, keras)
    outputs = _output_names(model)
    return [x.name for x in model.layers if not _is_input(x) and x.name not in outputs]


def check_names(model: Any, names: list[str]) -> None:
    """Every name is a removable layer of the model, else InvalidInput naming those that are."""
    removable = layer_names(model)
    every = [layer.name for layer in model.layers]
    for name in names:
        if name in removable:
            continue
        if name in every:
            raise InvalidInput(
                f"layer {name!r} is the model's input or output layer, which ablation cannot "
                f"remove; removable layers: {removable}"
            )
        raise InvalidInput(
            f"the base model has no layer {name!r}; its removable layers are {removable}"
        )


def _output_shape(model: Any) -> Any:
    try:
        shape = model.output_shape
    except (AttributeError, ValueError, RuntimeError):
        return None
    return tuple(shape) if isinstance(shape, list | tuple) else shape


def remove_layers(model: Any, names: list[str]) -> Any:
    """A new, untrained model like ``model`` without the layers ``names``."""
    keras = _keras_of(model)
    kind = _kind(model, keras)
    check_names(model, names)
    removed = set(names)
    try:
        if kind == "sequential":
            config = model.get_config()
            config["layers"] = [
                {k: v for k, v in layer.items() if k != "build_config"}
                for layer in config["layers"]
                if layer.get("config", {}).get("name") not in removed
            ]
            rebuilt = keras.Sequential.from_config(config)
        else:
            for layer in model.layers:
                inputs = layer.input if layer.name in removed else None
                if isinstance(inputs, list | tuple) and len(inputs) != 1:
                    raise InvalidInput(
                        f"layer {layer.name!r} takes {len(inputs)} inputs; only a layer with one "
                        "input can be removed from a functional model"
                    )

            def clone(layer: Any) -> Any:
                if layer.name in removed:
                    return keras.layers.Activation("linear", name=f"ablated_{layer.name}")
                return layer.__class__.from_config(layer.get_config())

            rebuilt = keras.models.clone_model(model, clone_function=clone)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - Keras says why the layers do not fit together
        raise InvalidInput(
            f"the model without {sorted(removed)} does not build: {type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''} (only a layer whose "
            "removal keeps the shapes compatible can be ablated)",
            details={"layers": sorted(removed)},
        ) from None
    before, after = _output_shape(model), _output_shape(rebuilt)
    if before is not None and after is not None and before != after:
        raise InvalidInput(
            f"the model without {sorted(removed)} outputs shape {after}, the base model "
            f"{before}: these layers cannot be ablated (their removal changes the output shape)",
            details={"layers": sorted(removed), "base": str(before), "ablated": str(after)},
        )
    return rebuilt
