"""docs/check.md promises a row for every reason and lists each collector's tables: both are held to the code."""

from __future__ import annotations

import re
from pathlib import Path

from metrics_utility import contract
from metrics_utility.library.collectors.controller.tables import TABLES_READ

DOC = (Path(__file__).parents[3] / 'docs' / 'check.md').read_text(encoding='utf-8')


def test_every_reason_has_a_row_and_no_row_is_unknown():
    documented = set(re.findall(r'^\| `([A-Z][A-Za-z]+)` \|', DOC, re.MULTILINE))
    assert documented == set(contract.CHECK_REASONS)


def test_the_tables_of_each_collector_are_the_declared_ones():
    rows = dict(re.findall(r'^\| `([a-z_]+)` \| (.*) \|$', DOC, re.MULTILINE))
    listed = {key: tuple(re.findall(r'`([a-z_]+)`', rows[key])) for key in TABLES_READ}
    assert listed == dict(TABLES_READ)
