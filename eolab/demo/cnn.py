"""The demonstrator's CNN (DEMONSTRATOR.md "Model") and the train function its experiments run.

dB to unit scale → 4 × [Conv2D 3×3 ReLU → MaxPool 2×2 → Dropout 0.2] → Flatten → Dense 512 →
Dropout → Dense 256 → Dropout → Dense 1 sigmoid. The first layer maps backscatter in dB (about
-45..-5) to about -2..2 inside the model, so that the served model takes the chips as they are;
fed raw dB, the CNN got stuck at chance (val_accuracy 0.51) in 2 of 5 trainings. Layers named ``my_conv_1..4``, ``my_maxpool_1..4``,
``my_dropout_1..4`` so that an ablation study can address them. ``scale`` shrinks the filter and
unit counts for the quick demo (the tests), where only the plumbing matters.

:func:`train_cnn` runs inside an experiment trial (a worker process): it reads the train and test
training datasets of the current project through ``tf_data``, logs them and every epoch to the
run, exports the trained model to the registry as ``ship_iceberg_classifier`` with its metrics,
and returns them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

MODEL_NAME = "ship_iceberg_classifier"
TRAIN_TD = "train_tfrecords_iceberg_classification_dataset"
TEST_TD = "test_tfrecords_iceberg_classification_dataset"
BANDS = ["band_1", "band_2", "band_avg"]
LABEL = "is_iceberg"
FILTERS = (64, 128, 128, 64)
UNITS = (512, 256)
DB_SCALE, DB_OFFSET = 0.1, 2.5  # -45..-5 dB -> -2..2


def build_cnn(lr: float = 1e-3, scale: float = 1.0, dropout: float = 0.2) -> Any:
    """The D1.8 CNN for (75, 75, 3) chips, compiled with Adam(lr) and binary cross-entropy."""
    import tensorflow as tf

    keras = tf.keras
    inputs = keras.Input(shape=(75, 75, 3), name="chip")
    x = keras.layers.Rescaling(DB_SCALE, offset=DB_OFFSET, name="db_to_unit")(inputs)
    for i, filters in enumerate(FILTERS, start=1):
        x = keras.layers.Conv2D(
            max(2, int(filters * scale)), 3, activation="relu", name=f"my_conv_{i}"
        )(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"my_maxpool_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"my_dropout_{i}")(x)
    x = keras.layers.Flatten(name="my_flatten")(x)
    for i, units in enumerate(UNITS, start=1):
        x = keras.layers.Dense(max(2, int(units * scale)), activation="relu", name=f"my_dense_{i}")(
            x
        )
        x = keras.layers.Dropout(dropout, name=f"my_dense_dropout_{i}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="is_iceberg")(x)
    model = keras.Model(inputs, outputs, name="ship_iceberg_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def datasets(batch_size: int = 32, shard_by_data: bool = False) -> tuple[Any, Any]:
    """The (train, validation) tf.data pipelines of the demo's TFRecord training datasets (one
    pass each: Keras iterates them again every epoch). ``shard_by_data`` splits batches, not
    files, over distributed workers (each split is one file)."""
    import tensorflow as tf

    from eolab import current_project

    fs = current_project().get_feature_store()
    pipelines = []
    for name, training in ((TRAIN_TD, True), (TEST_TD, False)):
        td = fs.get_training_dataset(name, 1)
        _log_dataset(td)
        reader = td.tf_data(target_name=LABEL, feature_names=BANDS, is_training=training)
        pipeline = reader.tf_record_dataset(batch_size=batch_size, num_epochs=1, process=True)
        if shard_by_data:
            options = tf.data.Options()
            options.experimental_distribute.auto_shard_policy = (
                tf.data.experimental.AutoShardPolicy.DATA
            )
            pipeline = pipeline.with_options(options)
        pipelines.append(pipeline)
    return pipelines[0], pipelines[1]


def _log_dataset(td: Any) -> None:
    from eolab import experiment

    experiment.log_training_dataset(td)


def export(model: Any, metrics: dict[str, float]) -> int | None:
    """Save ``model`` as a SavedModel and register it; the version (None on a non-chief)."""
    from eolab import models

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model"
        if type(model).__module__.startswith("tf_keras"):  # mirrored: TF_USE_LEGACY_KERAS=1
            import tensorflow as tf

            tf.saved_model.save(model, str(path))
        else:  # Keras 3
            model.export(str(path), verbose=False)
        registered = models.export(
            path,
            MODEL_NAME,
            metrics=metrics,
            description="D1.8 CNN: ship (0) or iceberg (1) from 75x75x3 Sentinel-1 chips",
        )
    return None if registered is None else registered.version


def train_cnn(lr: float = 1e-3, epochs: int = 1, scale: float = 1.0, seed: int = 0) -> dict:
    """One training of the CNN on the train split, validated on the test split."""
    import tensorflow as tf

    from eolab import experiment

    tf.keras.utils.set_random_seed(seed)
    train, validation = datasets()
    model = build_cnn(lr, scale)
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=0,
        callbacks=[experiment.KerasCallback()],
    )
    metrics = {
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "val_loss": float(history.history["val_loss"][-1]),
        "accuracy": float(history.history["accuracy"][-1]),
    }
    version = export(model, metrics)
    return {**metrics, "model_version": version or 0}


def train_cnn_mirrored(lr: float = 1e-3, epochs: int = 1, scale: float = 1.0) -> dict:
    """The same training on every worker of ``experiment.mirrored`` (MultiWorkerMirroredStrategy:
    each batch is split over the workers; the chief registers the model)."""
    import tensorflow as tf

    from eolab import experiment

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = build_cnn(lr, scale)
    train, validation = datasets(shard_by_data=True)
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=0,
        callbacks=[experiment.KerasCallback()],
    )
    metrics = {
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "val_loss": float(history.history["val_loss"][-1]),
        "workers": strategy.num_replicas_in_sync,
    }
    version = export(model, {k: v for k, v in metrics.items() if k != "workers"})
    return {**metrics, "model_version": version or 0}


def train_cnn_lagom(lr: float, dropout: float, reporter: Any, epochs: int = 1, scale: float = 1.0):
    """A lagom trial: the CNN with the trial's learning rate and dropout; every epoch's
    val_accuracy goes to the driver, which may stop the trial early."""
    from eolab.experiments.lagom import KerasEpochEnd

    train, validation = datasets()
    model = build_cnn(lr, scale, dropout)
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=0,
        callbacks=[KerasEpochEnd(reporter, metric="val_accuracy")],
    )
    return {"val_accuracy": float(history.history["val_accuracy"][-1])}


def train_cnn_ablation(
    dataset_function: Any, model_function: Any, reporter: Any, epochs: int = 1, lr: float = 1e-3
) -> dict:
    """An ablation trial: the CNN without the trial's layer, on the demo's training datasets
    (the three bands; the study's own dataset function would also hand over id and inc_angle)."""
    import tensorflow as tf

    from eolab.experiments.lagom import KerasEpochEnd

    del dataset_function  # the bands are read by datasets(); no feature is ablated here
    train, validation = datasets()
    model = model_function()
    model.compile(
        optimizer=tf.keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"]
    )
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        verbose=0,
        callbacks=[KerasEpochEnd(reporter, metric="val_accuracy")],
    )
    return {"val_accuracy": float(history.history["val_accuracy"][-1])}
