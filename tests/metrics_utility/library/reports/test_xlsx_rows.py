"""`table_rows` (rows rendered as SpreadsheetML text) writes the same cells as openpyxl's own `write_table`."""

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from metrics_utility.library.reports.xlsx import DATETIME, INTEGER, Column, new_workbook, table_rows, write_table
from testsupport.xlsx_dump import dump

pytestmark = pytest.mark.unit
COLUMNS = [Column('Text', 'text'), Column('Int', 'int', INTEGER), Column('Nullable', 'nullable', INTEGER),
           Column('Float', 'float', '#,##0.000'), Column('Plain float', 'float'), Column('When', 'when', DATETIME),
           Column('Naive', 'naive', 'yyyy-mm-dd'), Column('Mixed', 'mixed'), Column('Missing', 'nope', INTEGER),
           Column('Text fmt', 'text', INTEGER), Column('Old', 'old', DATETIME)]  # fmt: skip
TEXT = [
    'host-1.example.com',
    'Zürich Netzwerk',
    'a & b <c> "d" \'e\'',
    '=SUM(A1)',
    '=',
    '#N/A',
    ' padded ',
    '',
    'tab\there',
    'new\nline',
    None,
    'x' * 40,
    '日本語',
    'emoji 🙂',
    '0042',
    '1e5',
]


def _frame() -> pd.DataFrame:
    n = len(TEXT)
    when = pd.Series(pd.date_range('2024-02-01 10:00:00.123456', periods=n, freq='37min', tz=UTC))
    when[3] = pd.NaT
    naive = pd.Series(pd.date_range('1900-01-01', periods=n, freq='13D')).astype('datetime64[us]')
    mixed = [
        1,
        2.5,
        'text',
        None,
        True,
        np.int64(7),
        float('nan'),
        datetime(2024, 1, 2, 3, 4, 5),
        np.float64(1e20),
        2**60,
        -0.0,
        1 / 3,
        pd.NA,
        'x',
        0,
        False,
    ]
    old = [
        '1899-12-30',
        '1899-12-31 12:00',
        '1900-02-28 23:59:59.999999',
        '1900-03-01',
        '1800-06-15 06:30',
        None,
        '2099-12-31 23:59:59.5',
        '1970-01-01',
        '1969-12-31 23:59:59.000001',
    ] + ['2024-02-29 12:00'] * (n - 9)
    return pd.DataFrame(
        {
            'old': pd.Series(pd.to_datetime(old, format='ISO8601'), dtype='datetime64[us]').dt.tz_localize(UTC),
            'text': pd.Series(TEXT, dtype='str'),
            'int': np.arange(n, dtype='int64') * 1_000_003,
            'nullable': pd.array([None if i % 4 == 0 else i * 10**12 for i in range(n)], dtype='Int64'),
            'float': [i / 7 if i % 5 else float('nan') for i in range(n)],
            'when': when,
            'naive': naive,
            'mixed': pd.Series(mixed, dtype=object),
        }
    )


@pytest.mark.parametrize('rows', [0, 1, 16])
def test_same_cells_as_openpyxl(tmp_path, rows):
    frame = _frame().iloc[:rows]
    for name, writer in (('slow', write_table), ('fast', table_rows)):
        wb = new_workbook()
        ws = wb.create_sheet('T')
        writer(ws, COLUMNS, frame)
        wb.create_sheet('After').append(['next sheet'])
        wb.save(tmp_path / f'{name}.xlsx')
    assert dump(tmp_path / 'fast.xlsx') == dump(tmp_path / 'slow.xlsx')
    assert len(dump(tmp_path / 'fast.xlsx')['T']) == rows + 1


def test_many_rows_in_chunks(tmp_path):
    frame = pd.concat([_frame()] * 300, ignore_index=True)  # 4,800 rows: several chunks
    for name, writer in (('slow', write_table), ('fast', table_rows)):
        wb = new_workbook()
        writer(wb.create_sheet('T'), COLUMNS, frame)
        wb.save(tmp_path / f'{name}.xlsx')
    assert dump(tmp_path / 'fast.xlsx') == dump(tmp_path / 'slow.xlsx')
