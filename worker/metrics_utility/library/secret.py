"""Secret values that never show themselves in logs, reprs or exception messages."""

from __future__ import annotations

from typing import Any


class Secret:
    """A string that never shows itself: `repr`, `str` and f-strings print `***`; `reveal()` gives the value."""

    __slots__ = ('_value',)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError('Secret values are not picklable')
