"""Ablation studies (LOCO) on a tiny tf.keras model and a tiny eolab training dataset: one base
trial, one without a feature (read from the training dataset without it), one per removed
layer; and studies that cannot run refused before anything is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import eolab
from eolab import experiment
from eolab.errors import InvalidInput, NotFound
from eolab.experiments.lagom import AblationConfig, AblationStudy
from eolab.experiments.lagom.layer_removal import remove_layers

from . import lagom_fns


@pytest.fixture
def tiny_td(current: eolab.Project):
    """Training dataset tiny_td v1 (TFRecord): features a, b, c and a 0/1 label."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=64).astype("float32") for _ in range(3))
    frame = pd.DataFrame({"a": a, "b": b, "c": c, "label": (a + c > 0).astype("int64")})
    td = current.get_feature_store().create_training_dataset(
        "tiny_td", version=1, label=["label"], statistics_config={"enabled": False}
    )
    td.save(frame)
    return td


def nothing_written(project: eolab.Project) -> bool:
    return list((project.root / "Experiments").iterdir()) == [] and experiment.list_runs() == []


def study() -> AblationStudy:
    s = AblationStudy("tiny_td", 1, "label")
    s.model.set_base_model_generator(lagom_fns.tiny_model)
    return s


@pytest.mark.timeout(180)
def test_loco_runs_a_base_trial_and_one_per_feature_and_layer(current, tiny_td):
    s = study()
    s.features.include("b")
    s.model.layers.include("my_dense_1", "my_dense_2")
    s.model.layers.include_groups(prefix="my_dense")
    s.model.add_custom_model_generator(lagom_fns.wide_model, "wide")
    config = AblationConfig(s, metric="accuracy", name="tiny")
    result = experiment.lagom(lagom_fns.ablation_train, config, num_workers=1, progress=False)
    trials = {t["params"]["component"]: t for t in result["trials"]}
    assert list(trials) == [
        "base", "feature b", "layer my_dense_1", "layer my_dense_2", "layers my_dense*",
        "custom wide",
    ]  # fmt: skip
    assert all(t["state"] == "FINISHED" for t in trials.values()), result["trials"]
    shapes = {name: (t["metrics"]["inputs"], t["metrics"]["layers"]) for name, t in trials.items()}
    assert shapes == {
        "base": (3, 3),
        "feature b": (2, 3),  # the dataset without b
        "layer my_dense_1": (3, 2),  # the model without that layer
        "layer my_dense_2": (3, 2),
        "layers my_dense*": (3, 1),  # the group removed together
        "custom wide": (3, 2),
    }
    assert trials["layers my_dense*"]["params"]["ablated_layers"] == ["my_dense_1", "my_dense_2"]
    assert trials["feature b"]["params"]["ablated_feature"] == "b"
    assert trials["layer my_dense_2"]["params"]["ablated_layers"] == ["my_dense_2"]
    assert all(len(t["curve"]) == 2 for t in trials.values())  # KerasEpochEnd broadcasts
    run = experiment.get_run(result["run_id"])
    assert run.kind == "ablation" and run.state == "FINISHED" and len(run.trials) == 6
    assert run.params["study"]["features"] == ["b"]
    assert [(d["name"], d["version"]) for d in run.training_datasets] == [("tiny_td", 1)]
    assert result["best_id"] in {t.trial_id for t in run.trials}


def test_layer_removal_keeps_shapes_or_says_why():
    import tensorflow as tf

    model = lagom_fns.conv_model()
    without_conv = remove_layers(model, ["my_conv"])  # flatten then dense: still (None, 1)
    assert without_conv.output_shape == (None, 1)
    assert "ablated_my_conv" in [layer.name for layer in without_conv.layers]
    with pytest.raises(InvalidInput, match=r"without \['my_flatten'\] outputs shape .* the base "
                                           r"model \(None, 1\)"):  # fmt: skip
        remove_layers(model, ["my_flatten"])
    with pytest.raises(InvalidInput, match="'out' is the model's input or output layer"):
        remove_layers(model, ["out"])
    with pytest.raises(InvalidInput, match="must return a Keras model, got dict"):
        remove_layers({}, ["x"])
    assert isinstance(remove_layers(lagom_fns.tiny_model(), ["my_dense_2"]), tf.keras.Sequential)


def with_layers(*names: str) -> AblationStudy:
    s = study()
    s.model.layers.include(*names)
    return s


def conv_study() -> AblationStudy:
    s = AblationStudy("tiny_td", 1, "label")
    s.model.set_base_model_generator(lagom_fns.conv_model)
    s.model.layers.include("my_flatten")
    return s


def features(*names: str, generator=None) -> AblationStudy:
    s = study()
    if generator is not None:
        s.set_dataset_generator(generator)
    s.features.include(*names)
    return s


def prefix(value: str) -> AblationStudy:
    s = study()
    s.model.layers.include_groups(prefix=value)
    return s


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: with_layers("my_dense_9"), InvalidInput,
         r"no layer 'my_dense_9'; its removable layers are \['my_dense_1', 'my_dense_2'\]"),
        (lambda: with_layers("out"), InvalidInput, "input or output layer"),
        (conv_study, InvalidInput, "outputs shape"),
        (lambda: prefix("conv"), InvalidInput, "no removable layer of the base model starts with"),
        (lambda: features("d"), InvalidInput, "feature 'd' is not one of its features"),
        (lambda: features("label"), InvalidInput, "feature 'label' is the label"),
        (lambda: features("b", generator=lagom_fns.custom_dataset), InvalidInput,
         "needs the generator to take an ablated_feature= argument"),
        (lambda: AblationStudy("missing_td", 1, "label"), NotFound, "missing_td"),
        (lambda: AblationStudy("tiny_td", 1, "nolabel"), InvalidInput, "has no label 'nolabel'"),
    ],
)  # fmt: skip
def test_studies_that_cannot_run_write_nothing(current, tiny_td, make, error, message):
    s = make()
    if s.model.base_model_generator is None:
        s.model.set_base_model_generator(lagom_fns.tiny_model)
    with pytest.raises(error, match=message):
        experiment.lagom(lagom_fns.ablation_train, AblationConfig(s, metric="accuracy"))
    assert nothing_written(current)


def test_keras_callbacks_broadcast_epochs_and_batches():
    from eolab.experiments.lagom import KerasBatchEnd, KerasEpochEnd, Reporter

    model = lagom_fns.tiny_model()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    epochs, batches = Reporter("val_accuracy"), Reporter("loss")
    model.fit(
        x, y, epochs=2, batch_size=8, validation_data=(x, y), verbose=0,
        callbacks=[KerasEpochEnd(epochs, "val_accuracy"), KerasBatchEnd(batches)],
    )  # fmt: skip
    assert [step for step, _ in epochs.history] == [0, 1]
    assert [step for step, _ in batches.history] == list(range(8))  # 4 batches x 2 epochs
    with pytest.raises(InvalidInput, match="Keras logs have no 'val_auc' to broadcast"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[KerasEpochEnd(Reporter(), "val_auc")])
