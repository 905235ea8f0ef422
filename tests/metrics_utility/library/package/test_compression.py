"""Every compression choice writes a standard, reproducible gzip stream."""

from __future__ import annotations

import gzip
import io

import pytest

from metrics_utility.library.package.compression import DEFAULT_COMPRESSION, parse_compression


@pytest.mark.parametrize('spec', ['isal-0', 'isal-1', 'isal-2', 'isal-3', 'gzip-1', 'gzip-6', 'gzip-9'])
def test_standard_gzip_and_same_bytes_for_same_input(spec: str) -> None:
    def compress() -> bytes:
        raw = io.BytesIO()
        with parse_compression(spec).open(raw, mtime=1709251200) as writer:
            writer.write(b'job_event,' * 10_000)
        assert not raw.closed  # the caller's file stays open
        return raw.getvalue()

    first = compress()
    assert gzip.decompress(first) == b'job_event,' * 10_000
    assert first == compress()
    assert first[3] & 0x08 == 0  # FNAME flag clear: no temporary file name leaks into the header


@pytest.mark.parametrize('spec', ['zstd-3', 'isal-4', 'gzip', 'gzip-x', ''])
def test_unknown_choices_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="use 'isal-0'"):
        parse_compression(spec)


def test_default_is_isal_level_1() -> None:
    assert str(parse_compression(DEFAULT_COMPRESSION)) == 'isal-1'
