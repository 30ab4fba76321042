import dataclasses
from collections import Counter

import matplotlib
import numpy as np
import pytest
from threedrest.config import get_profile
from threedrest.data import embedded, store
from threedrest.data.embedded import build_embedded, build_scene, dataset_root, load_dataset, scene_plan
from threedrest.data.generator.furniture import PALETTE
from threedrest.data.generator.language import evaluate
from threedrest.data.generator.scenes import generate_layout, sample_points
from threedrest.data.stats import dataset_stats, plot_stats, stats_table

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    return dataclasses.replace(get_profile("smoke").data, cache_dir=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def index(cfg):
    return load_dataset(cfg, progress=False)


def _seed(i=0, generator_seed=0):
    return np.random.SeedSequence(generator_seed).spawn(i + 1)[i]


def test_same_seed_same_scene_other_seed_other_scene(cfg):
    a, b = (build_scene("scene0000_00", "train", _seed(), cfg) for _ in range(2))
    for name in store.SCENE_ARRAYS:
        assert np.array_equal(getattr(a["scene"], name), getattr(b["scene"], name)), name
    assert a["records"] == b["records"]
    c = build_scene("scene0000_00", "train", _seed(generator_seed=1), cfg)
    assert c["scene"].xyz.shape != a["scene"].xyz.shape or not np.array_equal(c["scene"].xyz, a["scene"].xyz)


def test_worker_count_does_not_change_data(cfg, index, tmp_path):
    serial = store.load_index(
        build_embedded(dataclasses.replace(cfg, cache_dir=str(tmp_path)), progress=False, workers=1)
    )
    assert serial.descriptions == index.descriptions
    for scene_id in index.scene_ids():
        a, b = index.load_scene(scene_id), serial.load_scene(scene_id)
        assert all(np.array_equal(getattr(a, n), getattr(b, n)) for n in store.SCENE_ARRAYS)


def test_every_program_picks_exactly_its_target(cfg):
    for i, (scene_id, split) in enumerate(scene_plan(cfg)):
        built = build_scene(scene_id, split, _seed(i), cfg)
        assert built["records"], scene_id
        for record in built["records"]:
            assert evaluate(record["program"], built["layout"]) == [int(record["object_id"])], record["description"]


def test_index_contents(cfg, index):
    m = index.manifest
    assert m["counts"]["train"]["scenes"] == cfg.n_train_scenes and len(index.scenes) == 10
    assert index.scene_ids("val") == ["scene0006_00", "scene0007_00"]
    assert 0.1 <= m["unique_share"] <= 0.35
    assert m["superpoint_purity"] > 0.9 and m["generator_version"] == embedded.GENERATOR_VERSION
    for scene_id, meta in index.scenes.items():
        furniture = [o for o in meta["objects"] if o["class_name"] not in ("wall", "floor")]
        assert cfg.min_objects <= len(furniture) <= cfg.max_objects
        assert sorted(o["class_name"] for o in meta["objects"] if o not in furniture) == ["floor"] + ["wall"] * 4
        assert all(o["color"] in PALETTE for o in furniture)
        scene = index.load_scene(scene_id)
        assert scene.n_points == cfg.points_per_scene
        assert set(np.unique(scene.instance)) <= {int(o["object_id"]) for o in meta["objects"]}
        classes = Counter(o["class_name"] for o in furniture)
        by_id = {o["object_id"]: o for o in furniture}
        for r in (r for r in index.descriptions if r["scene_id"] == scene_id):
            assert r["object_id"] in by_id  # walls and floor are never targets
            assert r["unique"] == (classes[by_id[r["object_id"]]["class_name"]] == 1)
            assert r["split"] == meta["split"] and r["uid"] == store.description_uid(r)


def test_layout_relations_are_filled(cfg):
    layouts = [generate_layout(f"s{i}", np.random.default_rng(i), get_profile("classroom").data) for i in range(10)]
    objects = [o for layout in layouts for o in layout.objects]
    assert any(o.on_top_of is not None for o in objects) and any(o.against_wall for o in objects)
    assert {"round", "rectangular"} <= {o.shape for o in objects}
    for layout in layouts:
        for o in layout.objects:
            assert np.all(o.bbox_min >= -0.03) and np.all(o.bbox_max[:2] <= layout.room_size[:2] + 0.03), o.object_name
            if o.on_top_of is not None:
                support = layout.by_id(o.on_top_of)
                assert abs(o.bbox_min[2] - support.bbox_max[2]) < 0.05 or support.class_name in ("bed", "sofa")


def test_scan_is_noisy_but_on_the_surfaces(cfg):
    layout = generate_layout("s", np.random.default_rng(3), cfg)
    points = sample_points(layout, np.random.default_rng(4), 5000)
    assert points["xyz"].dtype == np.float32 and points["rgb"].dtype == np.uint8 and len(points["xyz"]) == 5000
    floor_id = len(layout.objects)
    z = points["xyz"][points["instance"] == floor_id, 2]
    assert 0.003 < z.std() < 0.008 and abs(z.mean()) < 0.002  # ~5 mm sensor noise around z = 0
    assert points["rgb"][points["instance"] == floor_id].std(axis=0).min() > 2  # colour noise and shading


def test_superpoints_ignore_instance_ids_through_the_build(cfg, monkeypatch):
    reference = build_scene("scene0001_00", "train", _seed(1), cfg)["scene"]

    def permuted(layout, rng, n_points, *args):
        points = sample_points(layout, rng, n_points, *args)
        ids = np.unique(points["instance"])
        lookup = dict(zip(ids, np.random.default_rng(0).permutation(ids) + 100, strict=True))
        points["instance"] = np.array([lookup[i] for i in points["instance"]], np.int32)
        return points

    monkeypatch.setattr(embedded, "sample_points", permuted)
    relabelled = build_scene("scene0001_00", "train", _seed(1), cfg)["scene"]
    assert not np.array_equal(relabelled.instance, reference.instance)
    assert np.array_equal(relabelled.superpoint, reference.superpoint)


def test_cache_reuse_and_invalidation(cfg, index):
    root = dataset_root(cfg)
    assert root == index.root and store.is_complete(root)
    stamp = (root / "manifest.json").stat().st_mtime_ns
    assert build_embedded(cfg, progress=False) == root and (root / "manifest.json").stat().st_mtime_ns == stamp
    assert dataset_root(dataclasses.replace(cfg, label_ratio=0.5, split_by="scene")) == root
    for change in ({"points_per_scene": 2000}, {"generator_seed": 1}, {"max_objects": 11}, {"n_val_scenes": 3}):
        assert dataset_root(dataclasses.replace(cfg, **change)) != root, change
    monkey_version = embedded.GENERATOR_VERSION
    try:
        embedded.GENERATOR_VERSION = "test"
        assert dataset_root(cfg) != root
    finally:
        embedded.GENERATOR_VERSION = monkey_version


def test_stats(index):
    stats = dataset_stats(index)
    assert stats["overall"]["descriptions"] == len(index.descriptions)
    assert sum(stats[s]["scenes"] for s in store.SPLITS) == stats["overall"]["scenes"] == 10
    assert stats["overall"]["superpoint_purity"] > 0.9
    assert 12 < stats["overall"]["length_mean"] < 30
    table = stats_table(index)
    assert list(table.index) == ["train", "val", "test", "overall"] and "vocabulary" in table.columns
    axes = plot_stats(index).axes
    assert len(axes) == 6
    # not points per scene (one count for every scan): points per target object, the scans' count in the title
    sizes = axes[3]
    assert sizes.get_title().startswith("points per target object") and sizes.get_xscale() == "log"
    targets = {(r["scene_id"], str(r["object_id"])) for r in index.descriptions}
    assert sum(p.get_height() for p in sizes.patches) == len(targets)


def test_cli_prints_table(cfg, index, capsys):
    from threedrest.data.cli import main

    assert main(["--profile", "smoke", "--cache-dir", cfg.cache_dir]) == 0
    out = capsys.readouterr().out
    assert str(index.root) in out and "unique_share" in out and "overall" in out
