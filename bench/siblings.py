"""The other scripts of bench/, loaded as modules: their names (search, map,
catalogue) are also packages of the project, which come first on sys.path, so a
plain import would find those. Each is loaded once per process."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path


@cache
def load(name: str):
    """bench/<name>.py as the module `bench_<name>` (registered: dataclasses look
    their module up)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", Path(__file__).parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
