"""A class pack cannot run code or write outside the project: crafted archives and pickled files are refused.

The round trip (pack a reproduction, unpack it into a fresh clone, run notebooks 00-05 without training) is
in tests/test_notebooks.py, on the smoke reproduction that file makes.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from threedrest.experiments.classpack import MANIFEST, ArchiveError, unpack
from threedrest.train import checkpoint
from threedrest.train.predictions import load_predictions

MANIFEST_BYTES = json.dumps({"profile": "smoke", "seeds": "0", "made_at": "commit test", "runs": []}).encode()


def _archive(path: Path, members: list[tuple[str, bytes | None, str]], manifest: bool = True) -> Path:
    """members: (name, data, kind) with kind "file", "dir" or "symlink" (data: the link target)."""
    with tarfile.open(path, "w:gz") as tar:
        if manifest:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(MANIFEST_BYTES)
            tar.addfile(info, io.BytesIO(MANIFEST_BYTES))
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
    return path


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    root.mkdir()
    return root


def test_a_class_pack_writes_its_files_into_the_project(tmp_path: Path, project: Path) -> None:
    files = [
        ("data/cache/embedded-x/a.json", b"{}", "file"),
        ("results/runs/3drest-r0.1-s0-abc/summary.json", b"{}", "file"),
    ]
    archive = _archive(tmp_path / "ok.tar.gz", files)
    manifest = unpack(archive, project)
    assert manifest["written"] == 2 and manifest["profile"] == "smoke"
    assert (project / "data/cache/embedded-x/a.json").read_bytes() == b"{}"


@pytest.mark.parametrize(
    ("member", "kind", "message"),
    [
        ("../evil.txt", "file", "leaves the project"),
        ("results/runs/../../evil.txt", "file", "leaves the project"),
        ("/tmp/evil.txt", "file", "leaves the project"),
        ("data/cache/link", "symlink", "link or a device"),
        ("notebooks/00_tour.ipynb", "file", "outside data/cache/"),
        (".venv/bin/python", "file", "outside data/cache/"),
    ],
)
def test_a_crafted_archive_is_refused_before_anything_is_written(tmp_path: Path, project: Path, member: str,
                                                                 kind: str, message: str) -> None:  # fmt: skip
    data = b"/etc" if kind == "symlink" else b"payload"
    archive = _archive(tmp_path / "bad.tar.gz", [("data/cache/first.json", b"{}", "file"), (member, data, kind)])
    with pytest.raises(ArchiveError, match=message):
        unpack(archive, project)
    assert not any(project.rglob("*")), "nothing is extracted when one member is refused"
    assert not (tmp_path / "evil.txt").exists()


def test_an_archive_without_a_manifest_or_not_an_archive_is_refused(tmp_path: Path, project: Path) -> None:
    with pytest.raises(ArchiveError, match="not a class pack"):
        unpack(_archive(tmp_path / "plain.tar.gz", [("data/cache/a.json", b"{}", "file")], manifest=False), project)
    (tmp_path / "text.tar.gz").write_text("not an archive")
    with pytest.raises(ArchiveError, match="not a readable archive"):
        unpack(tmp_path / "text.tar.gz", project)


class _Payload:
    """Pickled, it would create a file when loaded: proof that a loader ran code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def test_the_kits_loaders_never_unpickle(tmp_path: Path) -> None:
    proof = tmp_path / "code-ran"
    poisoned = tmp_path / "checkpoint.pt"
    torch.save({"step": 1, "student": _Payload(proof), "config_hash": "x"}, poisoned)
    with pytest.raises(ValueError, match="without pickle"):
        checkpoint.read(poisoned, None, "x")
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(poisoned, weights_only=True)  # how model.pt and backbone.pt are read
    npz = tmp_path / "predictions_test_student.npz"
    np.savez(npz, uid=np.array([_Payload(proof)], dtype=object), offsets=np.zeros(2, dtype=np.int64),
             sp_mask=np.zeros(1, dtype=bool), iou=np.zeros(1), score=np.zeros(1))  # fmt: skip
    with pytest.raises(ValueError, match="allow_pickle"):
        load_predictions(npz)
    assert not proof.exists()
