"""Import threedrest before any test module imports numpy or torch, so the whole session runs on the
kit's pinned CPU code paths (threedrest.numerics), like every other entry point."""

import pytest
import threedrest  # noqa: F401
import torch


@pytest.fixture()
def one_thread():
    """Train in one torch thread, as the kit's workers do (their numbers do not depend on the machine's cores)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
