"""Ablation studies: what a model loses without one feature, one layer or one group of layers.

study = AblationStudy("train_tfrecords_iceberg_classification_dataset", 1, "is_iceberg")
study.features.include("inc_angle")
study.model.layers.include("my_conv_3", "my_dropout_1")
study.model.layers.include_groups(prefix="my_dense")      # or include_groups(["a", "b"])
study.model.set_base_model_generator(make_model)
study.model.add_custom_model_generator(make_wide_model, "wide")
result = experiment.lagom(train_fn, AblationConfig(study, metric="val_accuracy"))

def train_fn(dataset_function, model_function, reporter):
    model = model_function()
    model.compile(...)
    history = model.fit(dataset_function(num_epochs=2, batch_size=32), epochs=2)
    return {"val_accuracy": ...}

The LOCO ablator (leave one component out) makes one base trial with everything, plus one
trial per included feature, layer, layer group and custom model. ``dataset_function`` reads the
eolab training dataset without the ablated feature (``td.tf_data(...).tf_record_dataset`` or
``tf_csv_dataset``, ``process=True``); a dataset generator set with ``set_dataset_generator``
replaces it (and is given ``ablated_feature=`` when it takes that argument). ``model_function``
builds the base model without the ablated layers (:mod:`layer_removal`). Everything is checked
on the driver first: dataset, features, layer names and that each removal still builds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.experiments.lagom.optimizers import Optimizer
from eolab.experiments.worker import dump_function

if TYPE_CHECKING:
    from eolab.projects import Project


def _names(args: tuple[Any, ...], what: str) -> list[str]:
    names: list[str] = []
    for arg in args:
        items = arg if isinstance(arg, list | tuple) else [arg]
        for item in items:
            if not isinstance(item, str) or not item:
                raise InvalidInput(
                    f"{what} takes names (strings, or lists of strings), got {item!r} of type "
                    f"{type(item).__name__}"
                )
            names.append(item)
    return names


class Features:
    """The features to leave out one at a time."""

    def __init__(self) -> None:
        self.included: list[str] = []

    def include(self, *names: str | list[str]) -> None:
        for name in _names(names, "features.include()"):
            if name not in self.included:
                self.included.append(name)

    def exclude(self, *names: str | list[str]) -> None:
        for name in _names(names, "features.exclude()"):
            if name in self.included:
                self.included.remove(name)

    def list_all(self) -> list[str]:
        return list(self.included)


class Layers:
    """The layers to leave out one at a time, and groups of layers left out together."""

    def __init__(self) -> None:
        self.included: list[str] = []
        self.groups: list[list[str]] = []
        self.prefixes: list[str] = []

    def include(self, *names: str | list[str]) -> None:
        for name in _names(names, "layers.include()"):
            if name not in self.included:
                self.included.append(name)

    def exclude(self, *names: str | list[str]) -> None:
        for name in _names(names, "layers.exclude()"):
            if name in self.included:
                self.included.remove(name)

    def include_groups(self, *groups: list[str], prefix: str | None = None) -> None:
        """Each list is one group removed together; ``prefix`` groups the layers named so."""
        if prefix is not None:
            if not isinstance(prefix, str) or not prefix:
                raise InvalidInput(f"prefix must be a non-empty string, got {prefix!r}")
            if prefix not in self.prefixes:
                self.prefixes.append(prefix)
        for group in groups:
            if not isinstance(group, list | tuple) or len(group) < 2:
                raise InvalidInput(
                    f"a layer group is a list of at least two layer names, got {group!r} (include "
                    "a single layer with layers.include)"
                )
            names = _names((list(group),), "layers.include_groups()")
            if names not in self.groups:
                self.groups.append(names)


class Model:
    """The base model generator, its layers to ablate, and custom model generators."""

    def __init__(self) -> None:
        self.layers = Layers()
        self.base_model_generator: Callable[[], Any] | None = None
        self.custom_model_generators: list[tuple[Callable[[], Any], str]] = []

    def set_base_model_generator(self, generator: Callable[[], Any]) -> None:
        if not callable(generator):
            raise InvalidInput(
                f"the base model generator must be a function returning a Keras model, got "
                f"{type(generator).__name__}"
            )
        self.base_model_generator = generator

    def add_custom_model_generator(self, generator: Callable[[], Any], name: str) -> None:
        """One more trial, with the model ``generator`` returns, reported as ``custom <name>``."""
        if not callable(generator):
            raise InvalidInput(
                f"a custom model generator must be a function, got {type(generator).__name__}"
            )
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"a custom model needs a non-empty name, got {name!r}")
        if any(existing == name for _, existing in self.custom_model_generators):
            raise InvalidInput(f"a custom model named {name!r} was already added")
        self.custom_model_generators.append((generator, name))


class AblationStudy:
    """What to ablate, on which eolab training dataset and label."""

    def __init__(
        self,
        training_dataset_name: str,
        training_dataset_version: int | None = None,
        label_name: str | None = None,
        dataset_generator: Callable[..., Any] | None = None,
    ) -> None:
        if not isinstance(training_dataset_name, str) or not training_dataset_name:
            raise InvalidInput(
                f"training_dataset_name must be a training dataset's name, got "
                f"{training_dataset_name!r}"
            )
        version = training_dataset_version
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or version < 1):  # fmt: skip
            raise InvalidInput(f"training dataset versions are integers from 1, got {version!r}")
        if label_name is not None and (not isinstance(label_name, str) or not label_name):
            raise InvalidInput(f"label_name must be a feature name, got {label_name!r}")
        self.training_dataset_name = training_dataset_name
        self.training_dataset_version = version
        self.label_name = label_name
        self.features = Features()
        self.model = Model()
        self.custom_dataset_generator: Callable[..., Any] | None = None
        if dataset_generator is not None:
            self.set_dataset_generator(dataset_generator)

    def set_dataset_generator(self, generator: Callable[..., Any]) -> None:
        """Use ``generator(*args, **kwargs)`` as dataset_function (given ``ablated_feature=``
        when it takes it)."""
        if not callable(generator):
            raise InvalidInput(
                f"the dataset generator must be a function, got {type(generator).__name__}"
            )
        self.custom_dataset_generator = generator

    def to_dict(self) -> dict[str, Any]:
        return {
            "training_dataset_name": self.training_dataset_name,
            "training_dataset_version": self.training_dataset_version,
            "label_name": self.label_name,
            "features": list(self.features.included),
            "layers": list(self.model.layers.included),
            "layer_groups": [list(g) for g in self.model.layers.groups],
            "layer_prefixes": list(self.model.layers.prefixes),
            "custom_models": [name for _, name in self.model.custom_model_generators],
            "custom_dataset_generator": self.custom_dataset_generator is not None,
        }


# ---- the driver side: check the study, plan the LOCO trials ---------------------------------


def _takes(fn: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind == p.VAR_KEYWORD for p in parameters.values())


def _trial(component: str, **ablated: Any) -> dict[str, Any]:
    return {
        "component": component,
        "ablated_feature": ablated.get("feature"),
        "ablated_layers": ablated.get("layers"),
        "custom_model": ablated.get("custom"),
    }


def _check_dataset(project: Project, study: AblationStudy) -> dict[str, Any]:
    """The training dataset exists and has the label and the included features."""
    if study.custom_dataset_generator is not None:
        if study.features.included and not _takes(study.custom_dataset_generator,
                                                  "ablated_feature"):  # fmt: skip
            raise InvalidInput(
                "feature ablation with a custom dataset generator needs the generator to take "
                "an ablated_feature= argument (None for the base trial)"
            )
        return {"name": study.training_dataset_name, "version": study.training_dataset_version}
    if study.label_name is None:
        raise InvalidInput("AblationStudy needs label_name (the target) to read the dataset")
    td = project.get_feature_store().get_training_dataset(
        study.training_dataset_name, study.training_dataset_version
    )
    names = [f["name"] for f in td.features]
    if study.label_name not in names:
        raise InvalidInput(
            f"training dataset {td.name!r} v{td.version} has no label {study.label_name!r}; its "
            f"features: {names}"
        )
    for feature in study.features.included:
        if feature == study.label_name or feature not in names:
            what = "is the label" if feature == study.label_name else "is not one of its features"
            raise InvalidInput(
                f"feature {feature!r} {what} (training dataset {td.name!r} v{td.version} has "
                f"{names}); ablation leaves out features, not the label"
            )
    return {"name": td.name, "version": td.version}


def _resolve_layers(study: AblationStudy) -> list[dict[str, Any]]:
    """Build the base model once and check that every layer removal still builds."""
    from eolab.experiments.lagom.layer_removal import layer_names, remove_layers

    layers = study.model.layers
    if not (layers.included or layers.groups or layers.prefixes):
        return []
    base = study.model.base_model_generator()  # type: ignore[misc]
    trials = [_trial(f"layer {name}", layers=[name]) for name in layers.included]
    trials += [_trial(f"layers {', '.join(g)}", layers=list(g)) for g in layers.groups]
    removable = layer_names(base)
    for prefix in layers.prefixes:
        group = [name for name in removable if name.lower().startswith(prefix.lower())]
        if not group:
            raise InvalidInput(
                f"no removable layer of the base model starts with {prefix!r}; its layers: "
                f"{removable}"
            )
        trials.append(_trial(f"layers {prefix}*", layers=group))
    for trial in trials:
        remove_layers(base, trial["ablated_layers"])
    return trials


def loco_trials(project: Project, study: AblationStudy) -> list[dict[str, Any]]:
    """The LOCO trials' params: the base trial, then one per feature, layer, group, custom
    model; InvalidInput when the study cannot run."""
    if study.model.base_model_generator is None:
        raise InvalidInput(
            "the ablation study has no base model: call "
            "study.model.set_base_model_generator(fn) with a function returning a Keras model"
        )
    _check_dataset(project, study)
    trials = [_trial("base")]
    trials += [_trial(f"feature {f}", feature=f) for f in study.features.included]
    trials += _resolve_layers(study)
    trials += [
        _trial(f"custom {name}", custom=name) for _, name in study.model.custom_model_generators
    ]
    return trials


def worker_spec(study: AblationStudy) -> dict[str, Any]:
    """What workers need to build each trial's functions (pickled with the run's code)."""
    custom = study.custom_dataset_generator
    return {
        "training_dataset": study.training_dataset_name,
        "version": study.training_dataset_version,
        "label": study.label_name,
        "dataset_generator": dump_function(custom) if custom is not None else None,
        "base_model": dump_function(study.model.base_model_generator),
        "custom_models": {
            name: dump_function(fn) for fn, name in study.model.custom_model_generators
        },
    }


class LocoAblator(Optimizer):
    """Hands out the planned LOCO trials in order (an optimizer with a fixed list)."""

    def __init__(self, trials: list[dict[str, Any]]) -> None:
        self.trials = trials

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        self.asked += 1
        return dict(self.trials[self.asked - 1])

    def describe(self) -> dict[str, Any]:
        return {"name": "loco", "trials": len(self.trials)}


# ---- the worker side: the trial's dataset_function and model_function ------------------------


class TrainingDatasetFunction:
    """``dataset_function(num_epochs, batch_size, ...)``: the eolab training dataset as a
    tf.data pipeline of ``(features, label)`` batches, without the ablated feature."""

    def __init__(self, name: str, version: int | None, label: str, ablated: str | None) -> None:
        self.name = name
        self.version = version
        self.label = label
        self.ablated_feature = ablated
        self._td: Any = None

    def training_dataset(self) -> Any:
        if self._td is None:
            import eolab
            from eolab.experiments.context import log_training_dataset

            self._td = (
                eolab.connect().get_feature_store().get_training_dataset(self.name, self.version)
            )
            log_training_dataset(self._td)
        return self._td

    def feature_names(self) -> list[str]:
        """The dataset's features but the label and the ablated feature."""
        names = [f["name"] for f in self.training_dataset().features]
        return [n for n in names if n not in (self.label, self.ablated_feature)]

    def __call__(
        self,
        num_epochs: int | None = 1,
        batch_size: int = 32,
        split: str | None = None,
        one_hot_encode_labels: bool = False,
        num_classes: int | None = None,
        is_training: bool = True,
    ) -> Any:
        td = self.training_dataset()
        reader = td.tf_data(
            target_name=self.label,
            split=split,
            feature_names=self.feature_names(),
            is_training=is_training,
        )
        options = {
            "batch_size": batch_size,
            "num_epochs": num_epochs,
            "one_hot_encode_labels": one_hot_encode_labels,
            "num_classes": num_classes,
            "process": True,
        }
        if td.data_format in ("csv", "tsv"):
            return reader.tf_csv_dataset(**options)
        return reader.tf_record_dataset(**options)

    def numpy_batches(self, split: str | None = None, batch_size: int = 32, **kwargs: Any) -> Any:
        """The same rows as numpy batches (no TensorFlow), label and all kept features."""
        names = [*self.feature_names(), self.label]
        return self.training_dataset().numpy_batches(split, batch_size, names, **kwargs)


class AblatedModel:
    """``model_function()``: the base model without the ablated layers."""

    def __init__(self, base: Callable[[], Any], layers: list[str]) -> None:
        self.base = base
        self.layers = layers

    def __call__(self) -> Any:
        from eolab.experiments.lagom.layer_removal import remove_layers

        return remove_layers(self.base(), self.layers)


def trial_functions(spec: dict[str, Any], params: dict[str, Any]) -> tuple[Any, Any]:
    """``(dataset_function, model_function)`` of one ablation trial."""
    import functools
    import pickle

    feature = params.get("ablated_feature")
    if spec["dataset_generator"] is not None:
        generator = pickle.loads(spec["dataset_generator"])
        dataset_function = (
            functools.partial(generator, ablated_feature=feature)
            if _takes(generator, "ablated_feature")
            else generator
        )
    else:
        dataset_function = TrainingDatasetFunction(
            spec["training_dataset"], spec["version"], spec["label"], feature
        )
    if params.get("custom_model") is not None:
        model_function = pickle.loads(spec["custom_models"][params["custom_model"]])
    else:
        base = pickle.loads(spec["base_model"])
        layers = params.get("ablated_layers")
        model_function = AblatedModel(base, layers) if layers else base
    return dataset_function, model_function
