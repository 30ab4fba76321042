import pytest
from threedrest.data.splits import RATIOS, labelled_subset


def _records(n=2000, scenes=40):
    return [{"scene_id": f"scene{i % scenes:04d}_00", "object_id": str(i % 13), "ann_id": str(i)} for i in range(n)]


def test_nested_and_exact_counts():
    records = _records()
    previous: set[str] = set()
    for ratio in RATIOS:
        uids = labelled_subset(records, ratio, seed=3)
        assert len(uids) == max(1, round(ratio * len(records)))  # 10, 20, 40, 100, 200, 2000
        assert len(set(uids)) == len(uids)
        assert previous <= set(uids)
        previous = set(uids)
    assert len(labelled_subset(records, 0.005, seed=0)) == 10
    assert len(labelled_subset(records[:50], 0.001, seed=0)) == 1  # never empty


def test_seeded_and_order_independent():
    records = _records()
    a = labelled_subset(records, 0.05, seed=0)
    assert a == labelled_subset(list(reversed(records)), 0.05, seed=0)
    assert set(a) != set(labelled_subset(records, 0.05, seed=1))


def test_by_scene_takes_whole_scenes_until_target():
    records = _records()  # 40 scenes x 50 descriptions
    uids = labelled_subset(records, 0.1, seed=0, by="scene")
    scenes = {u.split("|")[0] for u in uids}
    assert len(uids) == 200 and len(scenes) == 4  # 4 whole scenes of 50 reach 10%
    odd = _records(n=2001, scenes=40)
    uids = labelled_subset(odd, 0.011, seed=2, by="scene")  # target 22: one scene of 50 or 51
    assert len({u.split("|")[0] for u in uids}) == 1
    assert (
        labelled_subset(records, 0.02, seed=5, by="scene")[:10]
        == labelled_subset(records, 0.05, seed=5, by="scene")[:10]
    )


@pytest.mark.parametrize("ratio", [0.0, -0.1, 1.5])
def test_bad_ratio_names_value(ratio):
    with pytest.raises(ValueError, match=str(ratio)):
        labelled_subset(_records(10), ratio, seed=0)


def test_bad_split_by():
    with pytest.raises(ValueError, match="split_by"):
        labelled_subset(_records(10), 0.5, seed=0, by="object")
