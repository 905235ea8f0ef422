"""How settings problems are worded: values quoted and cut, whole numbers checked, one error listing them all."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError

SHOWN_CHARS = 200  # a value longer than this is cut in messages: one readable line, never a wall of text
_WHOLE = re.compile(r'[+-]?[0-9]{1,30}')  # ASCII digits only: int() would also take '٣', '1_000' and ' 12 '


class ConfigError(MetricsUtilityError, ValueError):
    """One or more settings are wrong; `problems` lists them."""

    exit_code = BAD_INPUT

    @property
    def message(self) -> str:
        return str(self)  # every problem, one per line

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__('invalid configuration:\n' + '\n'.join(f'  - {p}' for p in problems))


def shown(value: str) -> str:
    """`value` quoted for a message, cut to SHOWN_CHARS (control characters and NUL bytes escaped by repr)."""
    if len(value) > SHOWN_CHARS:
        return repr(value[:SHOWN_CHARS]) + f'… ({len(value)} characters)'
    return repr(value)


def whole_number(raw: str, low: int, high: int) -> int | None:
    """`raw` as a whole number in [low, high], or None: ASCII digits with an optional sign, surrounding spaces
    allowed. Flags and variables go through this one check so that both accept exactly the same values."""
    value = raw.strip()
    if not _WHOLE.fullmatch(value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def shown_number(raw: str) -> str:
    """A whole number as itself (DB_PORT=99999), anything else quoted and cut as `shown` does."""
    return raw.strip() if _WHOLE.fullmatch(raw.strip()) else shown(raw)


def shown_name(name: str) -> str:
    """A name (collector key, sheet) as itself when short and printable, else quoted and cut."""
    return name if name.isprintable() and len(name) <= SHOWN_CHARS else shown(name)


def nul_problems(values: Mapping[str, str]) -> list[str]:
    """A NUL byte cannot reach a process from a real environment or command line, and no library takes it."""
    return [f'{name} contains a NUL byte; remove it' for name, value in values.items() if '\x00' in value]


def is_directory(path: str) -> bool:
    """Path.is_dir() that answers False, never raises, for names the OS refuses (too long, NUL bytes)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False
