import numpy as np
import pytest
from threedrest.config import get_profile
from threedrest.data.generator.scenes import generate_layout, sample_points
from threedrest.data.superpoints import estimate_normals, oversegment, purity


def test_purity_hand_computed():
    assert purity(np.array([0, 0, 1, 1]), np.array([5, 5, 5, 7])) == pytest.approx(0.75)  # (2 + 1) / 4
    assert purity(np.array([0, 1, 1, 1, 2]), np.array([-1, 3, 3, 4, 4])) == pytest.approx(0.8)  # (1 + 2 + 1) / 5
    assert purity(np.zeros(6, int), np.arange(6)) == pytest.approx(1 / 6)


def test_normals_of_a_plane_point_along_z():
    rng = np.random.default_rng(0)
    xyz = np.column_stack([rng.uniform(0, 1, (200, 2)), np.zeros(200)])
    from scipy.spatial import cKDTree

    nbr = cKDTree(xyz).query(xyz, k=8)[1]
    assert np.allclose(np.abs(estimate_normals(xyz, nbr)[:, 2]), 1.0)


def test_floor_wall_and_box_are_separated():
    """A floor, a wall at a right angle and a red block on the floor: no superpoint may mix them."""
    rng = np.random.default_rng(1)
    floor = np.column_stack([rng.uniform(0, 2, (1500, 2)), np.zeros(1500)])
    wall = np.column_stack([rng.uniform(0, 2, 1000), np.full(1000, 2.0), rng.uniform(0, 1.5, 1000)])
    u = rng.uniform(0, 1, (400, 2))
    box_top = np.column_stack([0.5 + 0.4 * u, np.full(400, 0.5)])
    xyz = np.concatenate([floor, wall, box_top]) + rng.normal(0, 0.003, (2900, 3))
    label = np.repeat([0, 1, 2], [1500, 1000, 400])
    rgb = np.array([[120, 100, 80], [220, 220, 215], [200, 40, 40]], np.uint8)[label]
    sp = oversegment(xyz, rgb)
    assert sp.dtype == np.int32 and sp.min() == 0 and np.unique(sp).size == sp.max() + 1
    assert purity(sp, label) > 0.98
    assert np.array_equal(sp, oversegment(xyz, rgb))  # deterministic


def test_scanlike_scene_purity_and_count():
    cfg = get_profile("classroom").data
    rng = np.random.default_rng(7)
    layout = generate_layout("scene0000_00", rng, cfg)
    points = sample_points(layout, rng, cfg.points_per_scene)
    sp = oversegment(points["xyz"], points["rgb"])
    assert 100 <= sp.max() + 1 <= 300
    assert purity(sp, points["instance"]) > 0.9


def test_bad_input_raises():
    with pytest.raises(ValueError, match="xyz"):
        oversegment(np.zeros((10, 2)), np.zeros((10, 3), np.uint8))
    with pytest.raises(ValueError, match="same N"):
        oversegment(np.zeros((10, 3)), np.zeros((9, 3), np.uint8))
