"""Checkpoints: the whole ``TrainState`` in one file, written atomically, read without pickle.

Every value is a tensor or a plain Python value (RNG states are byte tensors, the TSCS pool is
tensors), so a checkpoint loads with ``torch.load(weights_only=True)``: a checkpoint from someone
else (a class pack, a shared run) cannot run code on this machine.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from threedrest import distributed
from threedrest.io import atomic_torch_save
from threedrest.semi.ema import make_teacher
from threedrest.train.state import TrainState


def state_dict(state: TrainState, config_hash: str = "") -> dict[str, Any]:
    return {
        "step": state.step,
        "student": state.student.state_dict(),
        "teacher": None if state.teacher is None else state.teacher.state_dict(),
        "optimizer": state.optimizer.state_dict(),
        "scheduler": state.scheduler.state_dict(),
        "method": state.method.state_dict(),
        "lb_stream": state.lb_stream.state_dict(),
        "ulb_stream": None if state.ulb_stream is None else state.ulb_stream.state_dict(),
        "ulb_aug_generator": state.ulb_aug_generator.get_state(),
        "lb_aug_generator": state.lb_aug_generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,  # dropout on cuda
        "best": state.best,
        "history": state.history,
        "observers": [observer.state_dict() for observer in state.observers],
        "config_hash": config_hash,
    }


def save(path: Path, state: TrainState, config_hash: str = "") -> None:
    """Write the state (rank 0 only: every rank holds the same state)."""
    if distributed.is_main():
        atomic_torch_save(path, state_dict(state, config_hash))


def read(path: Path, state: TrainState, config_hash: str) -> TrainState:
    """``state`` advanced to the checkpoint at ``path``, which must belong to ``config_hash``; raises otherwise.

    A shared burn-in (saved by a supervised config) restores into any method's fresh state: what it does
    not hold (teacher, unlabelled stream, the method's own state) stays as the fresh state has it."""
    # RNG states must stay CPU ByteTensors: load on CPU, load_state_dict moves weights to the device
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:  # torch's message runs over many lines; the first says what failed
        raise ValueError(f"not a checkpoint that loads without pickle ({str(err).splitlines()[0]})") from None
    if ckpt.get("config_hash", config_hash) != config_hash:
        raise ValueError(f"saved for config {ckpt['config_hash']}, not {config_hash}")
    restore(ckpt, state)
    return state


def restore(ckpt: dict[str, Any], state: TrainState) -> None:
    state.step = int(ckpt["step"])
    state.student.load_state_dict(ckpt["student"])
    if ckpt["teacher"] is not None:
        state.teacher = make_teacher(state.student)
        state.teacher.load_state_dict(ckpt["teacher"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scheduler.load_state_dict(ckpt["scheduler"])
    state.method.load_state_dict(ckpt["method"])
    state.lb_stream.load_state_dict(ckpt["lb_stream"])
    if state.ulb_stream is not None and ckpt["ulb_stream"] is not None:
        state.ulb_stream.load_state_dict(ckpt["ulb_stream"])
    state.ulb_aug_generator.set_state(ckpt["ulb_aug_generator"])
    state.lb_aug_generator.set_state(ckpt["lb_aug_generator"])
    torch.set_rng_state(ckpt["torch_rng"])
    if ckpt.get("cuda_rng") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])
    state.best, state.history = ckpt["best"], ckpt["history"]
    for observer, saved in zip(state.observers, ckpt["observers"], strict=False):
        observer.load_state_dict(saved)


__all__ = ["read", "restore", "save", "state_dict"]
