"""Every cell of the workbooks, pinned: the performance work must not change one reported figure or format.

The golden dumps in `golden/` were written by the report code as it was before the performance changes (commit
fa63da2), on a seeded synthetic month with every awkward case of `testsupport.report_data`. Each variant exercises
a different path: all CCSPv2 sheets under each CCSP dedup mode, an organization filter, the default sheets, CCSP v1.
Each variant is built twice: computed (and its figures cached), then again from the cached figures.
Regenerate only for an intended change of the report: `REGENERATE_GOLDEN=1 pytest <this file>`.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from metrics_utility.library.reports import CCSP_SHEETS, CCSPV2_SHEETS, DEFAULT_SHEETS, build
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import partner_february, synthetic
from testsupport.xlsx_dump import dump, layout

pytestmark = pytest.mark.unit
GOLDEN = Path(__file__).parent / 'golden'
VARIANTS = {
    'ccspv2-all': ('CCSPv2', CCSPV2_SHEETS, {}),
    'ccspv2-all-experimental': ('CCSPv2', CCSPV2_SHEETS, {'deduplicator': 'ccsp-experimental'}),
    'ccspv2-all-case-insensitive': ('CCSPv2', CCSPV2_SHEETS, {'deduplicator': 'ccsp-case-insensitive'}),
    'ccspv2-all-org-filter': ('CCSPv2', CCSPV2_SHEETS, {'organization_filter': ('Default', 'Acme, Inc.')}),
    'ccspv2-default': ('CCSPv2', DEFAULT_SHEETS, {}),
    'ccsp-all': ('CCSP', CCSP_SHEETS, {'h1_heading': 'Usage report'}),
}


@pytest.fixture(scope='module')
def ship(tmp_path_factory):
    base = tmp_path_factory.mktemp('ship')
    synthetic(date(2024, 1, 31), 31, jobs_per_day=9, hosts=60, seed=23).write(base)  # 31 Jan .. 1 Mar
    return base


def _pretty(dumped: dict) -> str:
    """One line per row, so a diff of a golden file shows the rows that changed."""
    line = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    sheets = [
        f'{line(title)}: [\n' + ',\n'.join(line(r) for r in rows) + '\n]' for title, rows in dumped['cells'].items()
    ]
    return '{"cells": {\n' + ',\n'.join(sheets) + '\n},\n"layout": ' + line(dumped['layout']) + '\n}\n'


@pytest.mark.parametrize('variant', sorted(VARIANTS))
def test_every_cell_as_before(ship, tmp_path, variant):
    kind, sheets, extra = VARIANTS[variant]
    options = partner_february(kind, sheets, 11.5, **extra)
    path = GOLDEN / f'{variant}.json'
    cached = set((ship / 'rollups/figures').glob('*.zip'))
    computed = build(StorageDirectory(ship), options, tmp_path / 'computed.xlsx')
    assert len(set((ship / 'rollups/figures').glob('*.zip')) - cached) == 1  # this variant's figures, cached
    again = build(StorageDirectory(ship), options, tmp_path / 'cached.xlsx')
    assert (again.quantity, again.problems, again.days_rebuilt) == (computed.quantity, computed.problems, 0)
    if os.environ.get('REGENERATE_GOLDEN'):
        path.parent.mkdir(exist_ok=True)
        path.write_text(_pretty(_dump(tmp_path / 'computed.xlsx')))
    expected = json.loads(path.read_text())
    for out in ('computed', 'cached'):
        _compare(_dump(tmp_path / f'{out}.xlsx'), expected)


def _dump(out: Path) -> dict:
    return json.loads(json.dumps({'cells': dump(out), 'layout': layout(out)}, ensure_ascii=False))


def _compare(got: dict, expected: dict) -> None:
    assert list(got['cells']) == list(expected['cells'])
    for sheet, rows in expected['cells'].items():
        assert len(got['cells'][sheet]) == len(rows), sheet
        for i, row in enumerate(rows):
            assert got['cells'][sheet][i] == row, (sheet, i + 1)
    assert got['layout'] == expected['layout']
