"""First-fit placement (insights-analytics-collector's `_find_available_package`), as a pure function."""

from __future__ import annotations

import pytest

from metrics_utility.library.package.placement import Placement


def place(limit: int, files: list[tuple[str, int]]) -> list[int]:
    placement = Placement(limit)
    return [placement.place(key, size) for key, size in files]


def test_one_key_never_shares_a_package_with_itself() -> None:
    assert place(1000, [('big', 100)] * 4) == [0, 1, 2, 3]


def test_small_files_of_different_keys_fill_early_packages() -> None:
    assert place(1000, [('a', 100), ('b', 200), ('c', 300)]) == [0, 0, 0]


def test_first_fit_goes_back_to_earlier_packages() -> None:
    files = [('json', 17), ('big2', 800), ('big2', 800), ('big2', 800), ('csv1', 100), ('csv2', 150), ('csv3', 200)]
    assert place(1000, files) == [0, 0, 1, 2, 0, 1, 2]


def test_exactly_full_is_allowed_and_one_byte_more_is_not() -> None:
    assert place(1000, [('a', 600), ('b', 400), ('c', 1)]) == [0, 0, 1]


def test_an_oversized_file_is_alone() -> None:
    assert place(1000, [('a', 10), ('b', 5000), ('c', 10), ('d', 995)]) == [0, 1, 0, 2]


@pytest.mark.parametrize('limit', [0, -1, 1.5, True])
def test_limit_must_be_positive_whole_bytes(limit: object) -> None:
    with pytest.raises(ValueError, match='positive whole number'):
        Placement(limit)  # type: ignore[arg-type]
