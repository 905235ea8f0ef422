"""Write-only XLSX helpers: Arial everywhere, styled cells, tables with typed columns and widths.

Write-only mode streams rows to disk (memory stays flat however many hosts a report lists); it needs column widths
and merged ranges declared before rows are written, and every cell is written once, in order.

Large tables (node lists of tens of thousands of rows) go through `table_rows`: openpyxl builds and serialises one
cell object per value (~15 µs a cell, 8 s for a month's node sheets), so their rows are rendered as SpreadsheetML
text directly — the same `<c>` elements openpyxl writes (style ids from the workbook's registry, inline strings,
Excel serial dates via openpyxl's own `to_excel`, numbers as `%.16g`) — and spliced into the sheet openpyxl wrote.
Any value outside the common cases (formula-like or error-like text, control characters, padding spaces, booleans,
other types) is rendered by openpyxl itself, cell by cell, so the workbook is the same either way.

The workbook is data, never code (docs/reports.md, "Text in the workbook"). Every text — host names, organizations,
templates, modules, header variables — is written as an explicit string cell (`t="inlineStr"`, never `<f>` or an
error cell), whatever it starts with; text starting like a formula (OWASP's `=` `+` `-` `@` tab CR, and their
full-width forms) also gets Excel's quote-prefix style, so editing the cell keeps it text. Characters XML cannot
carry are written as the OOXML escape `_xHHHH_` (`escape_text`), reversibly. Only `formula()` writes a formula: the
report's own totals.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell._writer import write_cell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, to_excel
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import xmlfile

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


class TextWorksheet(WriteOnlyWorksheet):
    """A write-only sheet where a plain `str` appended is always a text cell (openpyxl would make `=…` a formula,
    `#N/A` an error, and refuse control characters)."""

    def _values_to_row(self, values: Iterable[Any], row_idx: int) -> Iterator[Any]:
        return super()._values_to_row((text_cell(self, v) if isinstance(v, str) else v for v in values), row_idx)


class ReportWorkbook(Workbook):
    """A write-only workbook whose sheets are `TextWorksheet`s."""

    def create_sheet(self, title: str | None = None, index: int | None = None) -> TextWorksheet:
        sheet = TextWorksheet(parent=self, title=title)
        self._add_sheet(sheet=sheet, index=index)
        return sheet


def new_workbook() -> Workbook:
    """A write-only workbook whose default font is Arial 10 (so unstyled cells are Arial too)."""
    workbook = ReportWorkbook(write_only=True)
    workbook._fonts = IndexedList([font(family=2)])
    for key in [k for k in _STYLES if k[0] == id(workbook)]:  # a recycled id must not reuse stale style indexes
        del _STYLES[key]
    return workbook


def cell(
    ws: WriteOnlyWorksheet,
    value: Any,
    *,
    fmt: str | None = None,
    fill: PatternFill | None = None,
    bold: bool = False,
    color: str | None = None,
    size: int = 10,
    wrap: bool = False,
    border: bool = False,
    code: bool = False,
) -> WriteOnlyCell:
    """A styled cell; text is always a string cell (`text_cell`) unless `code` (use `formula`).

    Styles are registered once per workbook and combination, then copied (building Font objects per cell cost
    ~0.1 ms each: half the report time on large sheets)."""
    value = excel_value(value)
    text = isinstance(value, str) and not code
    c = WriteOnlyCell(ws, None if text else value)
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
    if text:
        _as_text(c, value)
    return c


def formula(ws: WriteOnlyWorksheet, expression: str, **style: Any) -> WriteOnlyCell:
    """A formula cell: only for the report's own expressions (`=SUM(J8:J13)`), never for data."""
    if not expression.startswith('='):
        raise ValueError(f'not a formula: {expression!r}')
    return cell(ws, expression, code=True, **style)


_STYLES: dict[tuple, Any] = {}

# -- text that stays text ----------------------------------------------------------------------------------------------

# What starts a formula when a cell is typed or a CSV opened (OWASP CSV injection), plus the full-width forms that
# spreadsheet input methods turn into them.
FORMULA_LEADS = ('=', '+', '-', '@', '\t', '\r', '\uff1d', '\uff0b', '\uff0d', '\uff20')
# Written as `_xHHHH_`: C0 controls but tab and line feed (XML has no other C0 character; a raw CR would read back
# as LF), lone surrogates and U+FFFE/U+FFFF (not encodable or not XML), and the `_` of a literal `_xHHHH_` (as
# `_x005F_`), so the escape stays reversible. DEL and C1 controls are valid XML and written as themselves: LibreOffice
# decodes `_x007F_` to nothing but text (checked with 7.4), so escaping them would show another name than Excel.
_ESCAPED = re.compile('[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]|_(?=[xX][0-9A-Fa-f]{4}_)')
MAX_TEXT = 32767  # Excel's limit of characters in a cell


def escape_text(text: str) -> str:
    """`text` with every character in `_ESCAPED` as the OOXML escape `_xHHHH_` (ECMA-376 ST_Xstring).

    Deterministic and reversible (`openpyxl.utils.escape.unescape` gives the text back), so two names differing only
    by a control character stay two different cells. Excel and LibreOffice decode the escape when they read it.
    """
    return _ESCAPED.sub(lambda m: f'_x{ord(m.group()):04X}_', text)


def formula_like(text: str) -> bool:
    return text.startswith(FORMULA_LEADS)


def text_cell(ws: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    """An unstyled string cell holding `text` exactly (escaped where XML cannot hold it)."""
    c = WriteOnlyCell(ws, None)
    _as_text(c, text)
    return c


def _as_text(c: WriteOnlyCell, text: str) -> None:
    c._value = escape_text(text)[:MAX_TEXT]
    c.data_type = 's'
    if formula_like(text):
        c.quotePrefix = True


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


# -- large tables: rows rendered as SpreadsheetML text -----------------------------------------------------------------

_ROWS_PER_CHUNK = 2000


def table_rows(ws: WriteOnlyWorksheet, columns: Sequence[Column], frame: pd.DataFrame) -> int:
    """Write a header and one row per frame row as the *last* content of `ws`; returns the data rows written.

    Same cells as `write_table`. The sheet is closed here (nothing can be appended after it): the header goes
    through openpyxl, then the rows are inserted before `</sheetData>` of the sheet's finished part.
    """
    ws.append(header_row(ws, (c.header for c in columns)))
    ws.close()
    if not len(frame):
        return 0
    path = ws._writer.out  # the worksheet part openpyxl archives on save
    with open(path, 'rb') as f:
        part = f.read()
    end = part.rindex(b'</sheetData>')
    tmp = f'{path}.rows'
    with open(tmp, 'wb') as out:
        out.write(part[:end])
        for chunk in _render_rows(ws, columns, frame, first_row=2):
            out.write(chunk.encode('utf-8'))
        out.write(part[end:])
    os.replace(tmp, path)
    return len(frame)


def _render_rows(
    ws: WriteOnlyWorksheet, columns: Sequence[Column], frame: pd.DataFrame, first_row: int
) -> Iterator[str]:
    n = len(frame)
    for start in range(0, n, _ROWS_PER_CHUNK):
        part = frame.iloc[start : start + _ROWS_PER_CHUNK]
        rows = range(first_row + start, first_row + start + len(part))
        cells = [_render_column(ws, i, column, part, rows) for i, column in enumerate(columns, start=1)]
        yield ''.join(f'<row r="{r}">{"".join(c)}</row>' for r, *c in zip(rows, *cells, strict=True))


def _render_column(ws: WriteOnlyWorksheet, index: int, column: Column, frame: pd.DataFrame, rows: range) -> list[str]:
    letter = get_column_letter(index)
    series = frame.get(column.field)
    style = f' s="{cell(ws, None, fmt=column.fmt).style_id}"' if column.fmt else ''
    if series is not None and style and pd.api.types.is_datetime64_any_dtype(series.dtype):
        serials = _excel_serials(series, ws.parent.epoch)
        empty = f'{style} t="n"></c>'
        return [
            f'<c r="{letter}{r}"{style} t="n"><v>{v}</v></c>' if v is not None else f'<c r="{letter}{r}"{empty}'
            for r, v in zip(rows, serials, strict=True)
        ]
    values = series.tolist() if series is not None else [None] * len(frame)
    out = []
    for row, raw in zip(rows, values, strict=True):
        kind = type(raw)
        value = raw if kind is str or kind is int else excel_value(raw)
        kind = type(value)
        if value is None:
            out.append(f'<c r="{letter}{row}"{style} t="n"></c>' if style else '')
        elif (
            kind is str
            and value
            and not (
                formula_like(value)
                or value in ERROR_CODES
                or value != value.strip()
                or len(value) > MAX_TEXT
                or _ESCAPED.search(value)
            )
        ):
            text = value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
            out.append(f'<c r="{letter}{row}"{style} t="inlineStr"><is><t>{text}</t></is></c>')
        elif (kind is int or kind is float) and math.isfinite(value):
            out.append(f'<c r="{letter}{row}"{style} t="n"><v>{format(value, ".16g")}</v></c>')
        elif kind is datetime and style:
            out.append(
                f'<c r="{letter}{row}"{style} t="n"><v>{format(to_excel(value, ws.parent.epoch), ".16g")}</v></c>'
            )
        else:
            out.append(_openpyxl_cell(ws, value, column.fmt, row, index))
    return out


def _excel_serials(series: pd.Series, epoch: datetime) -> list[str | None]:
    """openpyxl's `to_excel` of each value (naive UTC, microseconds), vectorised with the same float operations."""
    if series.dt.tz is not None:
        series = series.dt.tz_convert(UTC).dt.tz_localize(None)
    micros = series.to_numpy().astype('datetime64[us]')
    missing = np.isnat(micros)
    since = (micros - np.datetime64(epoch, 'us')).astype(np.int64)
    days, of_day = np.divmod(since, 86_400_000_000)
    days = np.where((days > 0) & (days <= 60) & (epoch == WINDOWS_EPOCH), days - 1, days)
    seconds, fraction = np.divmod(of_day, 1_000_000)
    serial = days + (seconds + fraction / 10**6) / 86400
    return [None if m else format(v, '.16g') for m, v in zip(missing.tolist(), serial.tolist(), strict=True)]


def _openpyxl_cell(ws: WriteOnlyWorksheet, value: Any, fmt: str | None, row: int, column: int) -> str:
    """One cell exactly as openpyxl's write-only writer renders it (the uncommon cases)."""
    if fmt is not None:
        c = cell(ws, value, fmt=fmt)
    elif isinstance(value, str):
        c = text_cell(ws, value)
    else:
        c = WriteOnlyCell(ws, value)
    c.row, c.column = row, column
    buffer = io.BytesIO()
    with xmlfile(buffer) as xf:
        write_cell(xf, ws, c, c.has_style)
    return buffer.getvalue().decode('utf-8')
