"""``%%eo spark`` and ``%eo preprocess`` in a real IPython shell, on real engines."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine


def test_spark_cell_runs_with_spark_bound(in_project, shell, spark_engine, capsys):
    assert spark_engine.session is not None  # the shared local[2] session: the magic reuses it
    result = in_project("spark --master local[2] --gpus 1", "n_rows = spark.range(7).count()")
    assert result is None
    assert shell.user_ns["n_rows"] == 7
    assert "no GPU on this machine" in capsys.readouterr().err  # and it ran on CPU
    assert shell.user_ns["spark"].sparkContext.master == "local[2]"


def test_spark_line_describes_the_session_and_rebinds_the_engine(in_project, spark_engine):
    view = in_project("spark --master local[2]")
    assert "local[2]" in view._repr_html_()
    import eolab

    assert eolab.current_project().engine == "spark"


def test_spark_bad_arguments_are_one_line(in_project, error_line):
    assert in_project("spark --conf nokeyvalue") is None
    assert "key=value" in error_line()
    assert in_project("spark --executors many") is None
    assert "usage" in error_line()


def _scene(path):
    profile = {
        "driver": "GTiff",
        "width": 100,
        "height": 100,
        "count": 2,
        "dtype": "float32",
        "crs": "EPSG:3413",
        "transform": Affine(40, 0, 0, 0, -40, 0),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.random.default_rng(0).gamma(4, 0.25, (2, 100, 100)).astype("float32"))
    return path


def test_preprocess_writes_next_to_the_scene(in_project, datasets, tmp_path):
    datasets.upload(_scene(tmp_path / "scene.tif"), "eodata", progress=False)
    result = in_project("preprocess eodata/scene.tif --undersample 2 --calibrate --tile 25")
    assert result.chips == 4
    assert set(result.outputs.values()) == {
        "eodata/scene_u2.tif",
        "eodata/scene_db.tif",
        "eodata/scene_chips25.parquet",
    }
    assert "scene_chips25.parquet" in result._repr_html_()


def test_preprocess_bad_input_is_one_line_and_writes_nothing(in_project, datasets, error_line):
    before = datasets.ls("eodata")
    assert in_project("preprocess eodata/missing.tif --calibrate") is None
    assert "not_found" in error_line()
    assert in_project("preprocess eodata/../../x.tif --calibrate") is None
    assert "invalid_path" in error_line()
    assert datasets.ls("eodata") == before
