"""Row counting without CSV parsing must agree with the csv module, however the bytes are chunked."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools

from hypothesis import given
from hypothesis import strategies as st

from metrics_utility.library.package.digest import Digest

cell = st.text(alphabet='ab,"\n é', max_size=8)  # COPY ends rows with \n; a lone \r confuses the oracle
table = st.lists(st.lists(cell, min_size=1, max_size=4), min_size=1, max_size=20)


def render(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator='\n').writerows(rows)
    return out.getvalue().encode('utf-8')


@given(rows=table, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_records_match_the_csv_module_across_chunk_boundaries(rows: list[list[str]], cuts: list[int]) -> None:
    data = render(rows)
    digest = Digest(csv=True)
    edges = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    for start, end in itertools.pairwise(edges):
        digest.update(data[start:end])
    assert digest.records == len(list(csv.reader(io.StringIO(data.decode('utf-8'), newline=''))))
    assert digest.sha256 == hashlib.sha256(data).hexdigest() and digest.size == len(data)


def test_rows_exclude_the_header_and_count_a_last_line_without_break() -> None:
    digest = Digest(csv=True)
    digest.update(b'a,b\n1,"x\n""y"""\n2,z')
    assert (digest.records, digest.rows) == (3, 2)
    empty = Digest(csv=True)
    assert (empty.records, empty.rows) == (0, 0)
