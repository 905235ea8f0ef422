"""JSON Schemas (draft 2020-12) of a package's metadata members, for tests and for readers such as the extractor."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

SCHEMAS = ('config', 'manifest', 'package_info', 'data_collection_status')


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema of member `name` ('config', 'manifest', 'package_info' or 'data_collection_status' (one row))."""
    if name not in SCHEMAS:
        raise ValueError(f'no schema {name!r}; known: {", ".join(SCHEMAS)}')
    return json.loads(resources.files(__package__).joinpath(f'{name}.schema.json').read_text('utf-8'))
