"""SAR chips, the Statoil loader, band_avg and synthetic scenes, on real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from eolab.eo.sar import PIXELS, iceberg_dataset, iceberg_frame, to_json
from eolab.eo.scene import SceneTarget, synthetic_s1_scene
from eolab.eo.statoil import add_band_avg, load_statoil
from eolab.errors import InvalidInput, ValidationFailed


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The full-size synthetic train set (1604 chips), shared by the statistics tests."""
    return iceberg_frame(1604, seed=0)


def smooth(chips: np.ndarray) -> np.ndarray:
    """3×3 box filter of (n, 75, 75) chips, so that a single speckle pixel is not the peak."""
    padded = np.pad(chips, ((0, 0), (1, 1), (1, 1)), mode="edge")
    return sum(padded[:, i : i + 75, j : j + 75] for i in range(3) for j in range(3)) / 9.0


def target_features(df: pd.DataFrame) -> np.ndarray:
    """Hand features of the brightest target: HH and HV contrast, HV−HH, size, elongation."""
    hh = smooth(np.stack(df["band_1"].to_numpy()).reshape(-1, 75, 75).astype(np.float64))
    hv = smooth(np.stack(df["band_2"].to_numpy()).reshape(-1, 75, 75).astype(np.float64))
    n = len(hh)
    sea_hh = np.median(hh.reshape(n, -1), axis=1)
    sea_hv = np.median(hv.reshape(n, -1), axis=1)
    peak = hh.reshape(n, -1).argmax(axis=1)
    snr_hh = hh.reshape(n, -1)[np.arange(n), peak] - sea_hh
    snr_hv = hv.reshape(n, -1)[np.arange(n), peak] - sea_hv
    mask = (hh > (sea_hh + 0.5 * snr_hh)[:, None, None]).astype(np.float64)
    area = np.maximum(mask.sum(axis=(1, 2)), 1.0)
    yy, xx = np.mgrid[0:75, 0:75]
    my = (mask * yy).sum(axis=(1, 2)) / area
    mx = (mask * xx).sum(axis=(1, 2)) / area
    dy = yy - my[:, None, None]
    dx = xx - mx[:, None, None]
    cyy = (mask * dy**2).sum(axis=(1, 2)) / area
    cxx = (mask * dx**2).sum(axis=(1, 2)) / area
    cxy = (mask * dx * dy).sum(axis=(1, 2)) / area
    half_trace = (cyy + cxx) / 2
    spread = np.sqrt(np.maximum(half_trace**2 - (cyy * cxx - cxy**2), 0.0))
    elongation = np.log((half_trace + spread + 0.05) / (np.maximum(half_trace - spread, 0) + 0.05))
    return np.column_stack([snr_hh, snr_hv, snr_hv - snr_hh, np.log(area), elongation])


# ---------------------------------------------------------------------------------------------
# iceberg_dataset / iceberg_frame


def test_records_have_the_statoil_format() -> None:
    records = iceberg_dataset(120, seed=0)
    assert len(records) == 120
    for rec in records:
        assert list(rec) == ["id", "band_1", "band_2", "inc_angle", "is_iceberg"]
        assert re.fullmatch(r"[0-9a-f]{8}", rec["id"])
        for band in ("band_1", "band_2"):
            assert isinstance(rec[band], list) and len(rec[band]) == PIXELS
            assert all(type(v) is float for v in rec[band])
            assert min(rec[band]) >= -45.0 and max(rec[band]) <= 35.0
        assert rec["is_iceberg"] in (0, 1) and type(rec["is_iceberg"]) is int
        if rec["inc_angle"] == "na":
            assert rec["is_iceberg"] == 0
        else:
            assert type(rec["inc_angle"]) is float and 30.0 <= rec["inc_angle"] <= 46.0
    assert len({r["id"] for r in records}) == 120


def test_proportions_follow_the_public_file(frame: pd.DataFrame) -> None:
    labels = frame["is_iceberg"].to_numpy()
    assert labels.sum() == 753 and len(labels) == 1604
    na = frame["inc_angle"] == "na"
    assert not (na & (frame["is_iceberg"] == 1)).any()
    ships_na = na[frame["is_iceberg"] == 0].mean()
    assert 0.13 <= ships_na <= 0.18
    assert frame["inc_angle_deg"].isna().equals(na)
    angles = frame["inc_angle_deg"].dropna()
    assert 38.9 <= angles.mean() <= 39.7 and 3.4 <= angles.std() <= 4.2
    assert angles.min() >= 30.0 and angles.max() <= 46.0
    by_class = frame.groupby("is_iceberg")["inc_angle_deg"].mean()
    assert abs(by_class[0] - by_class[1]) < 0.8  # the angle itself does not give the class away


def test_sea_clutter_is_at_the_real_levels(frame: pd.DataFrame) -> None:
    hh = np.stack(frame["band_1"].to_numpy()[:200])
    hv = np.stack(frame["band_2"].to_numpy()[:200])
    assert -27.0 <= np.median(hh) <= -23.0
    assert -32.0 <= np.median(hv) <= -28.0
    assert 1.5 <= np.std(hh - np.median(hh, axis=1, keepdims=True)) <= 4.0  # speckle
    assert hh.min() >= -45.0 and hh.max() <= 35.0 and hh.dtype == np.float32


def test_icebergs_have_weaker_cross_pol_and_smaller_targets(frame: pd.DataFrame) -> None:
    sub = frame.iloc[:400]
    feats = target_features(sub)
    ship = sub["is_iceberg"].to_numpy() == 0
    hv_minus_hh_ship = feats[ship, 2].mean()
    hv_minus_hh_berg = feats[~ship, 2].mean()
    assert hv_minus_hh_berg < hv_minus_hh_ship - 3.0
    assert feats[~ship, 1].mean() < feats[ship, 1].mean()  # HV contrast
    assert np.median(feats[~ship, 3]) < np.median(feats[ship, 3])  # area


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = to_json(iceberg_dataset(16, seed=7), tmp_path / "a.json").read_bytes()
    b = to_json(iceberg_dataset(16, seed=7), tmp_path / "b.json").read_bytes()
    c = to_json(iceberg_dataset(16, seed=8), tmp_path / "c.json").read_bytes()
    assert a == b
    assert a != c
    assert {r["id"] for r in json.loads(a)}.isdisjoint({r["id"] for r in json.loads(c)})


def test_frame_equals_records() -> None:
    records = iceberg_dataset(10, seed=4)
    df = iceberg_frame(10, seed=4)
    assert list(df.columns) == [
        "id",
        "band_1",
        "band_2",
        "inc_angle",
        "inc_angle_deg",
        "is_iceberg",
    ]
    assert df["id"].tolist() == [r["id"] for r in records]
    for band in ("band_1", "band_2"):
        expected = np.array([r[band] for r in records], dtype=np.float32)
        np.testing.assert_array_equal(np.stack(df[band].to_numpy()), expected)
        assert df[band].iloc[0].dtype == np.float32


@pytest.mark.parametrize("n, seed", [(0, 0), (-3, 0), (2.5, 0), (True, 0), (5, "x")])
def test_generator_rejects_bad_arguments(n: object, seed: object) -> None:
    with pytest.raises(InvalidInput):
        iceberg_dataset(n, seed=seed)  # type: ignore[arg-type]


def test_a_tiny_model_beats_chance_clearly() -> None:
    df = iceberg_frame(400, seed=1)
    x = target_features(df)
    y = df["is_iceberg"].to_numpy().astype(np.float64)
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:300], order[300:]
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0) + 1e-9
    design = np.column_stack([(x - mu) / sd, np.ones(len(x))])
    w = np.zeros(design.shape[1])
    for _ in range(1500):  # logistic regression by gradient descent
        p = 1.0 / (1.0 + np.exp(-design[train] @ w))
        w -= 0.2 * design[train].T @ (p - y[train]) / len(train)
    accuracy = ((design[test] @ w > 0) == (y[test] == 1)).mean()
    assert accuracy >= 0.7


# ---------------------------------------------------------------------------------------------
# to_json / load_statoil


def test_load_statoil_round_trips_to_json(tmp_path: Path) -> None:
    records = iceberg_dataset(40, seed=2)
    path = to_json(records, tmp_path / "train.json")
    assert [p.name for p in tmp_path.iterdir()] == ["train.json"]  # no temp file left
    loaded = load_statoil(path)
    expected = iceberg_frame(40, seed=2)
    assert loaded["id"].tolist() == expected["id"].tolist()
    for band in ("band_1", "band_2"):
        np.testing.assert_array_equal(
            np.stack(loaded[band].to_numpy()), np.stack(expected[band].to_numpy())
        )
    assert loaded["inc_angle"].tolist() == expected["inc_angle"].tolist()
    assert pd.api.types.is_string_dtype(loaded["inc_angle"])
    np.testing.assert_array_equal(loaded["inc_angle_deg"], expected["inc_angle_deg"])
    assert loaded["is_iceberg"].dtype == np.int64
    assert loaded["is_iceberg"].tolist() == [r["is_iceberg"] for r in records]
    na_ids = {r["id"] for r in records if r["inc_angle"] == "na"}
    assert set(loaded.loc[loaded["inc_angle"] == "na", "id"]) == na_ids
    for rec, text in zip(records, loaded["inc_angle"], strict=True):
        if rec["inc_angle"] != "na":
            assert float(text) == rec["inc_angle"]


def _corrupt(records: list[dict], change: str) -> tuple[str, str]:
    """Break record 3 in one way; return its id and the field the error must name."""
    rec = records[3]
    rid = rec["id"]
    if change == "missing":
        del rec["band_1"]
        return rid, "band_1"
    if change == "short":
        rec["band_2"] = rec["band_2"][:-1]
        return rid, "band_2 has 5624 values, expected 5625"
    if change == "text":
        rec["band_1"][17] = "abc"
        return rid, "band_1"
    if change == "nested":
        rec["band_1"][5] = [1.0, 2.0]
        return rid, "band_1"
    if change == "null":
        rec["band_2"][0] = None
        return rid, "band_2"
    if change == "label":
        rec["is_iceberg"] = 2
        return rid, "is_iceberg"
    if change == "angle":
        rec["inc_angle"] = "forty"
        return rid, "inc_angle"
    if change == "duplicate":
        rec["id"] = records[1]["id"]
        return rec["id"], "id"
    raise AssertionError(change)


@pytest.mark.parametrize(
    "change", ["missing", "short", "text", "nested", "null", "label", "angle", "duplicate"]
)
def test_load_statoil_names_the_record_and_field(tmp_path: Path, change: str) -> None:
    records = iceberg_dataset(6, seed=3)
    rid, field = _corrupt(records, change)
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records))
    result = None
    with pytest.raises(ValidationFailed) as err:
        result = load_statoil(path)
    assert result is None
    assert f"record '{rid}'" in err.value.message
    assert field in err.value.message
    assert err.value.details["problems"]


def test_load_statoil_lists_the_first_twenty_problems(tmp_path: Path) -> None:
    records = iceberg_dataset(25, seed=3)
    for rec in records:
        rec["is_iceberg"] = 7
    path = tmp_path / "train.json"
    path.write_text(json.dumps(records))
    with pytest.raises(ValidationFailed, match="at least 19 more") as err:
        load_statoil(path)
    assert len(err.value.details["problems"]) == 20
    assert err.value.message.startswith(f"train.json: record '{records[0]['id']}': is_iceberg")


def test_load_statoil_rejects_files_that_are_not_a_json_array(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{'id': 1,")
    with pytest.raises(InvalidInput, match="not JSON"):
        load_statoil(bad)
    obj = tmp_path / "obj.json"
    obj.write_text('{"id": "abc"}')
    with pytest.raises(InvalidInput, match="expected an array"):
        load_statoil(obj)
    with pytest.raises(InvalidInput, match="does not exist"):
        load_statoil(tmp_path / "missing.json")
    not_records = tmp_path / "numbers.json"
    not_records.write_text("[1, 2]")
    with pytest.raises(ValidationFailed, match="record #0"):
        load_statoil(not_records)


def test_to_json_refuses_bad_records_and_leaves_nothing(tmp_path: Path) -> None:
    records = iceberg_dataset(3, seed=0)
    records[1]["band_1"][0] = float("nan")
    with pytest.raises(InvalidInput, match="record #1"):
        to_json(records, tmp_path / "train.json")
    with pytest.raises(InvalidInput, match="record #0"):
        to_json(["not a record"], tmp_path / "train.json")  # type: ignore[list-item]
    (tmp_path / "folder").mkdir()
    with pytest.raises(InvalidInput, match="is a directory"):
        to_json(records[:1], tmp_path / "folder")
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]
    assert list((tmp_path / "folder").iterdir()) == []
    # a missing folder is created, and the file has the usual permissions (not a temp file's 0600)
    written = to_json(records[:1], tmp_path / "new" / "train.json")
    assert written.stat().st_mode & 0o044 == Path(tmp_path / "folder").stat().st_mode & 0o044


# ---------------------------------------------------------------------------------------------
# add_band_avg


def test_add_band_avg_matches_numpy_and_leaves_the_input_alone() -> None:
    df = iceberg_frame(50, seed=5)
    before = np.stack(df["band_1"].to_numpy()).copy()
    out = add_band_avg(df)
    b1 = np.stack(df["band_1"].to_numpy())
    b2 = np.stack(df["band_2"].to_numpy())
    np.testing.assert_array_equal(np.stack(out["band_avg"].to_numpy()), (b1 + b2) / 2)
    assert out["band_avg"].iloc[0].dtype == np.float32 and out["band_avg"].iloc[0].shape == (
        PIXELS,
    )
    assert "band_avg" not in df.columns
    np.testing.assert_array_equal(np.stack(df["band_1"].to_numpy()), before)
    assert out["id"].tolist() == df["id"].tolist()


@pytest.mark.parametrize("shape", ["shuffled", "filtered", "lists", "square"])
def test_add_band_avg_on_reordered_or_differently_held_bands(shape: str) -> None:
    df = iceberg_frame(30, seed=6)
    if shape == "shuffled":
        df = df.sample(frac=1.0, random_state=0)
    elif shape == "filtered":
        df = df[df["is_iceberg"] == 1]
    elif shape == "lists":
        df = df.assign(band_1=[v.tolist() for v in df["band_1"]])
    else:
        df = df.assign(band_2=[v.reshape(75, 75) for v in df["band_2"]])
    out = add_band_avg(df)
    for (_, r), avg in zip(df.iterrows(), out["band_avg"], strict=True):
        expected = (np.asarray(r["band_1"], np.float32).ravel() + r["band_2"].ravel()) / 2
        np.testing.assert_array_equal(avg, expected)
    assert out.index.equals(df.index)


def test_add_band_avg_rejects_wrong_shapes() -> None:
    df = iceberg_frame(5, seed=1)
    short = df.assign(band_2=[v if i != 2 else v[:-1] for i, v in enumerate(df["band_2"])])
    with pytest.raises(InvalidInput, match="band_2") as err:
        add_band_avg(short)
    assert repr(df["id"].iloc[2]) in err.value.message
    with pytest.raises(InvalidInput, match="band_1"):
        add_band_avg(df.drop(columns=["band_1"]))
    with pytest.raises(InvalidInput, match="band_1"):
        add_band_avg(df.assign(band_1=["x"] * len(df)))
    with pytest.raises(InvalidInput):
        add_band_avg(np.zeros((5, PIXELS)))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# synthetic_s1_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SceneTarget]]:
    folder = tmp_path_factory.mktemp("scene")
    return synthetic_s1_scene(folder / "s1.tif", 600, 520, seed=3, targets=6, return_targets=True)


def test_scene_is_a_tiled_two_band_polar_geotiff(scene: tuple[Path, list[SceneTarget]]) -> None:
    path, _ = scene
    assert sorted(p.name for p in path.parent.iterdir()) == ["s1.tif"]
    with rasterio.open(path) as src:
        assert src.count == 2 and (src.width, src.height) == (600, 520)
        assert src.crs.to_epsg() == 3413
        assert src.transform.a == 40.0 and src.transform.e == -40.0
        assert src.transform.b == 0.0 and src.transform.d == 0.0
        assert src.descriptions == ("HH", "HV")
        assert src.dtypes == ("float32", "float32")
        assert src.block_shapes == [(256, 256), (256, 256)]
        assert src.profile["tiled"]
        hh = src.read(1)
        hv = src.read(2)
    assert (hh > 0).all() and (hv > 0).all()  # linear intensity, not dB
    sea_hh = 10 * np.log10(np.median(hh))
    sea_hv = 10 * np.log10(np.median(hv))
    assert -28.0 <= sea_hh <= -22.0 and -32.0 <= sea_hv <= -28.0
    # the sea darkens from near range (left) to far range (right)
    assert np.median(hh[:, :100]) > np.median(hh[:, -100:])


def test_scene_targets_are_brighter_than_the_sea(scene: tuple[Path, list[SceneTarget]]) -> None:
    path, targets = scene
    assert len(targets) == 6 and {t.is_iceberg for t in targets} <= {0, 1}
    with rasterio.open(path) as src:
        hh = src.read(1)
        sea = np.median(hh)
        for t in targets:
            patch = hh[max(0, t.row - 3) : t.row + 4, max(0, t.col - 3) : t.col + 4]
            assert patch.max() > 10 * sea, t  # ≥ 10 dB above the sea
            x, y = src.xy(t.row, t.col)
            assert (x, y) == pytest.approx((t.x, t.y))
            assert set(t.to_dict()) == {"row", "col", "x", "y", "is_iceberg", "length_px"}


def test_scene_bytes_depend_only_on_the_seed(tmp_path: Path) -> None:
    a = synthetic_s1_scene(tmp_path / "a.tif", 300, 270, seed=1)
    b = synthetic_s1_scene(tmp_path / "b.tif", 300, 270, seed=1)
    c = synthetic_s1_scene(tmp_path / "c.tif", 300, 270, seed=2)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_scene_with_explicit_targets(tmp_path: Path) -> None:
    path, targets = synthetic_s1_scene(
        tmp_path / "t.tif", 200, 200, targets=[(50, 60, 0), (150, 140, 1)], return_targets=True
    )
    assert [(t.row, t.col, t.is_iceberg) for t in targets] == [(50, 60, 0), (150, 140, 1)]
    with rasterio.open(path) as src:
        window = src.read(1, window=rasterio.windows.Window(55, 45, 11, 11))
        assert window.max() > 10 * np.median(src.read(1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 0, "height": 100},
        {"width": 100, "height": 2.5},
        {"width": 100, "height": 100, "seed": "x"},
        {"width": 100, "height": 100, "targets": [(500, 5, 0)]},
        {"width": 100, "height": 100, "targets": [(5, 5, 3)]},
        {"width": 100, "height": 100, "targets": -1},
    ],
)
def test_scene_rejects_bad_arguments_and_writes_nothing(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(InvalidInput):
        synthetic_s1_scene(tmp_path / "sub" / "bad.tif", **kwargs)
    assert list(tmp_path.iterdir()) == []
