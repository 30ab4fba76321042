"""showcase: layer names, aligned IoUs and the pick of the most different description, on toy predictions."""

from __future__ import annotations

import numpy as np
import pytest
from threedrest.train.predictions import Predictions
from threedrest.viz import showcase, widgets
from threedrest.viz.widgets import LAYER_COLOURS


def _preds(uids: list[str], ious: list[float]) -> Predictions:
    n = len(uids)
    return Predictions(uid=np.array(uids), offsets=np.arange(n + 1, dtype=np.int64), sp_mask=np.ones(n, bool),
                       iou=np.array(ious, np.float32), score=np.zeros(n, np.float32))  # fmt: skip


def test_layer_names_match_the_view_colours() -> None:
    names = [showcase.layer_name("supervised", "student"), showcase.layer_name("3drest", "student"),
             showcase.layer_name("3drest", "teacher")]  # fmt: skip
    assert all(name in LAYER_COLOURS for name in names)
    assert showcase.layer_name("mean_teacher", "teacher") == "mean_teacher teacher"


def test_aligned_ious_keeps_shared_uids_in_first_layer_order() -> None:
    preds = {"supervised": _preds(["a", "b", "c"], [0.1, 0.2, 0.3]), "3DResT student": _preds(["c", "a"], [0.9, 0.5])}
    uids, ious = showcase.aligned_ious(preds)
    assert uids == ["a", "c"]
    np.testing.assert_allclose(ious["supervised"], [0.1, 0.3], rtol=1e-6)
    np.testing.assert_allclose(ious["3DResT student"], [0.5, 0.9], rtol=1e-6)


def test_most_different_ranks_by_absolute_gap_ties_in_order() -> None:
    # gaps |b - a| (exact in float32): a 0.5, b 0.25, c 1.0, d 0.5 -> c, then a before d (tie, first in order)
    preds = {"supervised": _preds(list("abcd"), [0.25, 0.5, 1.0, 0.75]),
             "3DResT student": _preds(list("abcd"), [0.75, 0.25, 0.0, 0.25])}  # fmt: skip
    assert showcase.most_different(preds, k=3) == ["c", "a", "d"]
    with pytest.raises(ValueError, match="3DResT teacher"):
        showcase.most_different(preds, "supervised", "3DResT teacher")


def test_changed_cases_on_empty_predictions_say_there_is_nothing_to_compare() -> None:
    empty = {name: Predictions(**{**_preds(["a", "b"], [0.0, 0.0]).__dict__, "sp_mask": np.zeros(2, bool)})
             for name in ("supervised", "3DResT student")}  # fmt: skip
    changes = showcase.changed_cases(empty)
    assert changes.empty and changes.shown() == []
    assert changes.summary() == widgets.nothing_to_compare(2) == widgets.empty_note(empty)
    assert not showcase.changed_cases({n: _preds(["a", "b"], [0.9, 0.1]) for n in empty}).empty
