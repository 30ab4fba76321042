"""Import threedrest before any test module imports numpy or torch, so the whole session runs on the
kit's pinned CPU code paths (threedrest.numerics), like every other entry point."""

import threedrest  # noqa: F401
