from __future__ import annotations

from threedrest.data.sampler import BatchStream


def test_each_epoch_is_a_permutation_of_the_pool() -> None:
    stream = BatchStream(list(range(10)), batch_size=5, seed=0)
    seen = stream.next() + stream.next()
    assert sorted(seen) == list(range(10))
    assert stream.epoch == 1


def test_same_seed_same_order_and_state_round_trip() -> None:
    a, b = BatchStream(list(range(20)), 4, seed=3), BatchStream(list(range(20)), 4, seed=3)
    assert [a.next() for _ in range(7)] == [b.next() for _ in range(7)]
    state = a.state_dict()
    expected = [a.next() for _ in range(5)]
    c = BatchStream([0], 4, seed=99)
    c.load_state_dict(state)
    assert [c.next() for _ in range(5)] == expected


def test_removed_samples_never_come_back_and_added_ones_join() -> None:
    stream = BatchStream(list(range(6)), batch_size=3, seed=1)
    stream.next()
    stream.remove([0, 1, 2])
    stream.add([100])
    drawn = [p for _ in range(6) for p in stream.next()]
    assert not {0, 1, 2} & set(drawn)
    assert 100 in drawn


def test_batch_never_repeats_a_sample_and_small_pools_shrink_the_batch() -> None:
    stream = BatchStream([7, 8], batch_size=4, seed=0)
    for _ in range(5):
        batch = stream.next()
        assert sorted(batch) == [7, 8]
