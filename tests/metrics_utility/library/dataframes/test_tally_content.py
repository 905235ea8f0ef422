"""The content rollup's dictionary columns: the values used, in order of first use, indices as narrow as fit."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from metrics_utility.library.dataframes import tally_content

pytestmark = pytest.mark.unit


DICTIONARY_CASES = [  # id, codes, number of values, expected index type, dictionary, indices (None: missing)
    ('first-use-order', [2, 0, 2, 1], 3, 'int8', ['c', 'a', 'b'], [0, 1, 0, 2]),
    ('unused-values-left-out', [3, 3], 5, 'int8', ['d'], [0, 0]),
    ('missing-codes', [-1, 1, -1], 2, 'int8', ['b'], [None, 0, None]),
    ('only-missing', [-1, -1], 2, 'int8', [], [None, None]),
    ('127-values-fit-int8', list(range(127)), 127, 'int8', None, list(range(127))),
    ('128-values-need-int16', list(range(128)), 128, 'int16', None, list(range(128))),
    ('32768-values-need-int32', list(range(32768)), 32768, 'int32', None, list(range(32768))),
    ('blocks-of-first-use', [1] * 5 + [0] * 5, 2, 'int8', ['b', 'a'], [0] * 5 + [1] * 5),
]  # fmt: skip


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('codes', 'size', 'index_type', 'dictionary', 'indices'),
    [c[1:] for c in DICTIONARY_CASES],
    ids=[c[0] for c in DICTIONARY_CASES],
)
def test_dictionary_holds_the_values_used_in_order_of_first_use(
    monkeypatch, codes, size, index_type, dictionary, indices
):
    values = [chr(ord('a') + i) if size <= 26 else f'v{i}' for i in range(size)]
    monkeypatch.setattr(tally_content, '_first_used', functools.partial(tally_content._first_used, block=4))
    array = tally_content._dictionary(np.array(codes, dtype=np.int64), values)
    assert str(array.type.index_type) == index_type
    expected = dictionary if dictionary is not None else [values[c] for c in codes]
    assert array.dictionary.to_pylist() == expected
    assert array.indices.to_pylist() == indices
    assert array.to_pylist() == [None if c < 0 else values[c] for c in codes]
