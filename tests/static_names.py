"""The URL the pages give a static file: its hashed name when `make assets` built the
manifest (bin/digest-assets, web/static_files.py), else its plain name."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "web" / "static" / "cache_manifest.json"


def static_url(name: str) -> str:
    names = json.loads(MANIFEST.read_text()) if MANIFEST.is_file() else {}
    return "/static/" + names.get(name, name)
