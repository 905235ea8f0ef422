"""Every cell of a workbook as plain data (value, number format, font, fill, border), to compare two builds.

`dump` gives one list of rows per sheet (JSON-able; for golden files), `digest` one hash per sheet (for large
workbooks in the benchmark). Values are normalised only as far as JSON needs (datetimes as ISO text, floats kept
exact through repr), so any change of a reported figure, a format or a style changes the dump.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

UPDATED = re.compile(r'^Updated: .*$')


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return {'t': type(value).__name__, 'v': value.isoformat()}
    if isinstance(value, float):
        return {'t': 'float', 'v': repr(value)}
    return value


def _cell(c: Any) -> list[Any] | None:
    if c.value is None and not getattr(c, 'has_style', False):
        return None
    font, fill = c.font, c.fill
    color = font.color.rgb if font is not None and font.color is not None else None
    fg = fill.fgColor.rgb if fill is not None and fill.fill_type else None
    border = bool(c.border and c.border.left and c.border.left.style)
    return [
        _value(c.value),
        c.number_format,
        font.name,
        bool(font.b),
        float(font.sz or 0),
        color,
        fg,
        border,
        bool(c.alignment and c.alignment.wrap_text),
    ]


def iter_sheets(path: str | Path) -> Any:
    """(title, rows) per sheet; each row a list of cell dumps (None for an empty, unstyled cell)."""
    wb = load_workbook(path, read_only=True)
    try:
        for ws in wb.worksheets:
            rows = []
            for row in ws.iter_rows():
                cells = [_cell(c) if hasattr(c, 'value') else None for c in row]
                while cells and cells[-1] is None:
                    cells.pop()
                rows.append(cells)
            while rows and not rows[-1]:
                rows.pop()
            yield ws.title, rows
    finally:
        wb.close()


def layout(path: str | Path) -> dict[str, Any]:
    """What the read-only dump cannot see: column widths, merged ranges, frozen panes and charts per sheet."""
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        out[ws.title] = {
            'widths': {k: d.width for k, d in sorted(ws.column_dimensions.items()) if d.width},
            'merged': sorted(str(r) for r in ws.merged_cells.ranges),
            'freeze': ws.freeze_panes,
            'charts': [
                (type(c).__name__, c.title.tx.rich.p[0].r[0].t if c.title and c.title.tx else None) for c in ws._charts
            ],
        }
    return out


def dump(path: str | Path) -> dict[str, list[list[Any]]]:
    return dict(iter_sheets(path))


def digest(path: str | Path) -> dict[str, dict[str, Any]]:
    """Per sheet: number of rows and a sha256 over every cell dump (the day in 'Updated: …' left out)."""
    out = {}
    for title, rows in iter_sheets(path):
        h = hashlib.sha256()
        for row in rows:
            row = [[UPDATED.sub('Updated: <day>', c[0]), *c[1:]] if c and isinstance(c[0], str) else c for c in row]
            h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode())
            h.update(b'\n')
        out[title] = {'rows': len(rows), 'sha256': h.hexdigest()}
    return out
