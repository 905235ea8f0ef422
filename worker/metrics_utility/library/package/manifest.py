"""`manifest.json` (metrics-utility's flat file → version map) and `package_info.json` (what makes a package
verifiable).

metrics-utility's own manifest schema (`schemas/manifest.jsonschema`) allows only `"<file>.json|csv": "<n>.<n>"`
entries, so any extra key in manifest.json would make every package fail its validator. The flat map therefore stays
exactly as upstream writes it, and the extra facts live in one more member, `package_info.json`, which the flat map
lists like any other file: the run id, the window, the package's index and the run's package count, the tool
version, per-file sha256, byte sizes and CSV row counts, and every collector run of the whole run.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

MANIFEST_FILE = 'manifest.json'
CONFIG_FILE = 'config.json'
PACKAGE_INFO_FILE = 'package_info.json'
PACKAGE_INFO_VERSION = '1.0'
PACKAGE_INFO_FORMAT = 'metrics-utility-package'
# Collector keys that would collide with a package's own members.
RESERVED_KEYS = frozenset({'config', 'manifest', 'data_collection_status', 'package_info'})


def json_default(value: Any) -> Any:
    """JSON for the values collectors commonly return (datetimes as ISO 8601, like Django's encoder)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f'{type(value).__name__} is not JSON serialisable')


def dumps(value: Any) -> bytes:
    """Stable JSON bytes (sorted keys, UTF-8), so equal content gives equal members and checksums."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=json_default).encode('utf-8') + b'\n'


def flat_manifest(versions: list[tuple[str, str]]) -> bytes:
    """The flat map in member order; it does not list itself (as upstream)."""
    return json.dumps(dict(versions), indent=2, ensure_ascii=False).encode('utf-8') + b'\n'
