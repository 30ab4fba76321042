"""The one registry of methods: every name a config's ``method`` takes, and the class behind it.

A method is one file (a ``semi.methods.base.Method`` subclass, e.g. ``semi/methods/threshold.py``) and
one line in ``BUILTIN`` below. Everything else derives from the registry: the names ``Config``
accepts, the rows of the main table, the label-ratio curve and the variants table, and each
method's own defaults and options (class attributes). ``docs/extending.md`` walks through it.

The kit's classes are named by "module:Class" and imported when first needed, so this module (a
foundation: ``config`` validates names against it) imports nothing of the kit. A method defined
outside the package registers its class with ``register(MyMethod)`` and is then a valid ``method``
everywhere: configs, grids, tables. The class is added to the environment variable
``THREEDREST_METHODS`` ("module:Class", comma-separated), which every process of the kit reads on
first use, so the training workers it spawns know the method too; set the variable yourself
(``THREEDREST_METHODS=my_methods:MyMethod make reproduce``) to bring a method into a whole reproduction.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

ENV = "THREEDREST_METHODS"  # methods defined outside the kit: comma-separated "module:Class"

# name -> "module:Class", in the order the tables list the methods
BUILTIN: dict[str, str] = {
    "supervised": "threedrest.semi.methods.supervised:Supervised",
    "mean_teacher": "threedrest.semi.methods.mean_teacher:MeanTeacher",
    "refteacher": "threedrest.semi.methods.refteacher:RefTeacher",
    "threshold": "threedrest.semi.methods.threshold:ConfidenceThreshold",
    "3drest": "threedrest.semi.methods.threedrest:ThreeDResT",
}

_registered: dict[str, Any] = {}  # methods registered at run time (name -> class)
_loaded: dict[str, Any] = {}
_imported: set[str] = set()  # entries of ENV this process has registered


def register(cls: Any) -> Any:
    """Make ``cls`` (a ``Method`` subclass with a ``name``) a valid method; usable as a decorator.

    Registering under a name that exists replaces nothing: it is an error, so a typo cannot shadow
    one of the kit's methods."""
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls!r} needs a non-empty class attribute 'name' to be registered")
    known = _registered.get(name)
    if name in BUILTIN or (
        known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__)
    ):
        raise ValueError(f"a method named {name!r} is registered already")
    _registered[name] = cls
    entry = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ not in ("__main__", "__mp_main__") and entry not in _entries():  # spawned workers read it
        os.environ[ENV] = ",".join([*_entries(), entry])
    _imported.add(entry)
    return cls


def unregister(name: str) -> None:
    """Remove a method registered at run time (the kit's own stay) and forget its module."""
    cls = _registered.pop(name, None)
    _loaded.pop(name, None)
    if cls is not None:
        entry = f"{cls.__module__}:{cls.__qualname__}"
        os.environ[ENV] = ",".join(m for m in _entries() if m != entry)
        _imported.discard(entry)


def _entries() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def _import_plugins() -> None:
    """Register the classes ``THREEDREST_METHODS`` names (once per process)."""
    for entry in _entries():
        if entry in _imported:
            continue
        _imported.add(entry)
        module, _, attr = entry.partition(":")
        try:
            cls = _resolve(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ImportError(f"{ENV} names {entry!r}, which cannot be imported: {err}") from err
        if cls.name not in _registered:
            register(cls)


def _resolve(module: Any, qualname: str) -> Any:
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def names() -> tuple[str, ...]:
    """Every registered method: the kit's in table order, then those registered at run time."""
    _import_plugins()
    return (*BUILTIN, *(n for n in _registered if n not in BUILTIN))


def method_class(name: str) -> Any:
    """The class registered as ``name`` (imported on first use)."""
    _import_plugins()
    if name in _registered:
        return _registered[name]
    if name not in BUILTIN:
        raise KeyError(f"unknown method {name!r}; registered: {', '.join(names())}")
    if name not in _loaded:
        module, _, attr = BUILTIN[name].partition(":")
        _loaded[name] = _resolve(importlib.import_module(module), attr)
    return _loaded[name]


def options(name: str) -> dict[str, Any]:
    """The method's own config options with their defaults (``Method.options``; {} for none)."""
    return dict(getattr(method_class(name), "options", {}))


__all__ = ["BUILTIN", "ENV", "method_class", "names", "options", "register", "unregister"]
