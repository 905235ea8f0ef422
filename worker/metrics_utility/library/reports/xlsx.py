"""Write-only XLSX helpers: Arial everywhere, styled cells, tables with typed columns and widths.

Write-only mode streams rows to disk (memory stays flat however many hosts a report lists); it needs column widths
and merged ranges declared before rows are written, and every cell is written once, in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FONT = 'Arial'
PRICE = '$#,##0.00'
DATETIME = 'yyyy-mm-dd hh:mm:ss'
INTEGER = '#,##0'
HEADER_FILL = PatternFill('solid', fgColor='D9D9D9')
BLUE = PatternFill('solid', fgColor='1F4E79')
GREEN = PatternFill('solid', fgColor='C6EFCE')
DARK_GREEN = PatternFill('solid', fgColor='548235')
BLACK = PatternFill('solid', fgColor='000000')
YELLOW = PatternFill('solid', fgColor='FFEB9C')
RED = PatternFill('solid', fgColor='FFC7CE')
THIN = Border(*(Side(style='thin', color='A6A6A6'),) * 4)


def font(**kw: Any) -> Font:
    return Font(name=FONT, size=kw.pop('size', 10), **kw)


def new_workbook() -> Workbook:
    """A write-only workbook whose default font is Arial 10 (so unstyled cells are Arial too)."""
    workbook = Workbook(write_only=True)
    workbook._fonts = IndexedList([font(family=2)])
    for key in [k for k in _STYLES if k[0] == id(workbook)]:  # a recycled id must not reuse stale style indexes
        del _STYLES[key]
    return workbook


def cell(ws: WriteOnlyWorksheet, value: Any, *, fmt: str | None = None, fill: PatternFill | None = None,
         bold: bool = False, color: str | None = None, size: int = 10, wrap: bool = False,
         border: bool = False) -> WriteOnlyCell:  # fmt: skip
    """A styled cell. Styles are registered once per workbook and combination, then copied (building Font objects
    per cell cost ~0.1 ms each: half the report time on large sheets)."""
    c = WriteOnlyCell(ws, excel_value(value))
    key = (id(ws.parent), fmt, None if fill is None else fill.fgColor.rgb, bold, color, size, wrap, border)
    style = _STYLES.get(key)
    if style is None:
        c.font = font(bold=bold, color=color, size=size)
        if fmt:
            c.number_format = fmt
        if fill is not None:
            c.fill = fill
        if wrap:
            c.alignment = Alignment(wrap_text=True, vertical='top')
        if border:
            c.border = THIN
        _STYLES[key] = copy(c._style)
    else:
        c._style = copy(style)
    return c


_STYLES: dict[tuple, Any] = {}


def excel_value(value: Any) -> Any:
    """Excel has no time zones and no NaN: timestamps become naive UTC, missing values empty cells."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if hasattr(value, 'item') and not isinstance(value, str):
        return value.item()
    return value


@dataclass(frozen=True)
class Column:
    """One table column: header, source field, number format and width."""

    header: str
    field: str
    fmt: str | None = None
    width: float = 18


def widths(ws: WriteOnlyWorksheet, columns: Sequence[Column], start: int = 1) -> None:
    for i, column in enumerate(columns, start=start):
        ws.column_dimensions[get_column_letter(i)].width = column.width


def header_row(ws: WriteOnlyWorksheet, headers: Iterable[str]) -> list[WriteOnlyCell]:
    return [cell(ws, h, bold=True, fill=HEADER_FILL, border=True, wrap=True) for h in headers]


def write_table(ws: WriteOnlyWorksheet, columns: Sequence[Column], frame: pd.DataFrame, *, header: bool = True) -> int:
    """Append a header and one row per frame row; returns the number of data rows written."""
    if header:
        ws.append(header_row(ws, (c.header for c in columns)))
    formats = [c.fmt for c in columns]
    fields = [frame[c.field] if c.field in frame else pd.Series([None] * len(frame)) for c in columns]
    count = 0
    for values in zip(*(f.tolist() for f in fields), strict=True):
        row = []
        for value, fmt in zip(values, formats, strict=True):
            if fmt is None:
                row.append(excel_value(value))
            else:
                row.append(cell(ws, value, fmt=fmt))
        ws.append(row)
        count += 1
    return count
