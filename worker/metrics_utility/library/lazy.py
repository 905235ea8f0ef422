"""Package exports imported on first use (PEP 562).

Why: importing any submodule runs its package's `__init__` first; when that `__init__` imports every sibling, a
light module (a constant, a dataclass) drags in its siblings' dependencies (boto3, requests, psycopg, pandas), and
every command pays for all of them. A package lists where each public name lives instead, and a name's module is
imported when the name is first read.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`(__getattr__, __dir__)` for `package`: `where` maps each public name to its submodule (relative, '.s3')."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f'module {package!r} has no attribute {name!r}')
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # read once; later reads are plain attribute lookups
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
