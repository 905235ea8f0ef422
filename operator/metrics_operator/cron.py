"""Cron schedules as the CronJob controller reads them, checked field by field.

Why: a schedule like `61 25 * * *` used to pass the CRD (it only counted five fields) and then failed when the
operator wrote the CronJob, or `0 0 31 2 *` was stored and never ran. Kubernetes parses schedules with
robfig/cron's standard parser: five fields, `*`, `?` (day fields), lists, ranges (start ≤ end), steps, month and
weekday names (case-insensitive), the macros below and `@every <duration>` (Go durations: `90m`, `1h30m`, `1.5h`;
the operator wants at least a minute). Weekdays are 0-6 (Sunday is 0; Kubernetes refuses 7).

`problem()` is what `spec.py` reports; `pattern()` is the same grammar as one regular expression, which the CRD's
CEL rule uses (a test keeps the CRD's copy equal and checks both agree on generated schedules). The regular
expression cannot see that a day never occurs in the chosen months (`0 0 30 2 *`); only `problem()` checks that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

MACROS: Final = ('@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly')
MONTH_NAMES: Final = ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec')
DAY_NAMES: Final = ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat')
MONTH_DAYS: Final = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # a leap year: Feb 29 does occur
MAX_STEP: Final = 99
EVERY: Final = '@every '
DURATION_PART: Final = r'([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)'
_SECONDS: Final = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600}


@dataclass(frozen=True)
class Field:
    name: str
    low: int
    high: int
    names: dict[str, int]
    question: bool = False  # `?` allowed (the two day fields)


FIELDS: Final = (
    Field('minute', 0, 59, {}),
    Field('hour', 0, 23, {}),
    Field('day of month', 1, 31, {}, question=True),
    Field('month', 1, 12, {n: i + 1 for i, n in enumerate(MONTH_NAMES)}),
    Field('day of week', 0, 6, {n: i for i, n in enumerate(DAY_NAMES)}, question=True),
)
EXPECTED: Final = 'a 5-field cron expression (minute hour day-of-month month day-of-week) or a macro such as @hourly'


class CronError(ValueError):
    """Why a schedule cannot be used."""


def _value(text: str, spec: Field) -> int:
    if text.lower() in spec.names:
        return spec.names[text.lower()]
    if not text.isascii() or not text.isdigit() or len(text) > 2:
        raise CronError(
            f'{spec.name} {text!r} is not a number {spec.low}-{spec.high}'
            + (f' or a name ({", ".join(spec.names)})' if spec.names else '')
        )
    value = int(text)
    if not spec.low <= value <= spec.high:
        raise CronError(f'{spec.name} {value} is out of range {spec.low}-{spec.high}')
    return value


def _values(text: str, spec: Field) -> set[int]:
    """The values one field selects; raises CronError naming the field."""
    if (text == '?' and spec.question) or text == '*':
        return set(range(spec.low, spec.high + 1))
    chosen: set[int] = set()
    for item in text.split(','):
        base, slash, step_text = item.partition('/')
        step = 1
        if slash:
            if not (step_text.isascii() and step_text.isdigit()) or not 1 <= int(step_text) <= MAX_STEP:
                raise CronError(f'{spec.name} step {step_text!r} must be a number from 1 to {MAX_STEP}')
            step = int(step_text)
        if base == '*':
            start, end = spec.low, spec.high
        else:
            first, dash, last = base.partition('-')
            start = _value(first, spec)
            end = _value(last, spec) if dash else (spec.high if slash else start)
            if start > end:
                raise CronError(f'{spec.name} range {base!r} starts after it ends')
        chosen.update(range(start, end + 1, step))
    return chosen


def problem(schedule: str) -> str | None:
    """None when the CronJob controller accepts `schedule` and it runs at least once a year, else why not."""
    text = schedule.strip()
    if text.startswith(EVERY):
        return _every_problem(text.removeprefix(EVERY))
    if text.startswith('@'):
        return None if text in MACROS else f'{text!r} is not a macro; expected one of {", ".join(MACROS)} or @every'
    parts = text.split(' ')
    parts = [p for p in parts if p]
    if len(parts) != len(FIELDS):
        return f'must be {EXPECTED}; got {len(parts)} field(s)'
    try:
        values = [_values(part, spec) for part, spec in zip(parts, FIELDS, strict=True)]
    except CronError as exc:
        return str(exc)
    dom, months, dow = parts[2], values[3], parts[4]
    if dom not in ('*', '?') and dow in ('*', '?'):
        longest = max(MONTH_DAYS[m - 1] for m in months)
        if min(values[2]) > longest:
            return f'never runs: no chosen month has day {min(values[2])}'
    return None


def _every_problem(duration: str) -> str | None:
    if not re.fullmatch(f'(?:{DURATION_PART})+', duration):
        return f'@every {duration!r} is not a duration such as 90m, 1h30m or 1.5h'
    seconds = sum(float(n) * _SECONDS[unit] for n, unit in re.findall(DURATION_PART, duration))
    return None if seconds >= 60 else f'@every {duration}: at least a minute (CronJobs start at most once a minute)'


# The same grammar as a regular expression (RE2 and Python agree on this subset), for the CRD's CEL rule.


def _numbers(low: int, high: int) -> str:
    """A regular expression for the decimal numbers low..high (0 ≤ low ≤ high ≤ 99), one leading zero allowed."""
    parts = []
    for tens in range(low // 10, high // 10 + 1):
        first = max(low, tens * 10) % 10
        last = min(high, tens * 10 + 9) % 10
        digits = str(first) if first == last else f'[{first}-{last}]'
        parts.append(f'0?{digits}' if tens == 0 else f'{tens}{digits}')
    return '|'.join(parts)


def _names(spec: Field, low: int) -> list[str]:
    return [name for name, value in spec.names.items() if value >= low]


def _at_least(spec: Field, low: int) -> str:
    options = [_numbers(low, spec.high), *_names(spec, low)]
    return '|'.join(options)


def _field(spec: Field) -> str:
    single = _at_least(spec, spec.low)
    ranges = '|'.join(
        f'(?:{"|".join([_numbers(v, v)] + [n for n, nv in spec.names.items() if nv == v])})-(?:{_at_least(spec, v)})'
        for v in range(spec.low, spec.high + 1)
    )
    step = '/(?:[1-9]|[1-9][0-9])'
    item = f'(?:\\*{step}|(?:{ranges}|{single})(?:{step})?)'
    whole = ['\\*', f'{item}(?:,{item})*'] + (['\\?'] if spec.question else [])
    return f'(?:{"|".join(whole)})'


def pattern() -> str:
    """The whole schedule grammar; month and weekday names match in any case."""
    macros = '|'.join(m[1:] for m in MACROS)
    fields = ' +'.join(_field(spec) for spec in FIELDS)
    return f'^ *(?:@(?:{macros})|@every (?:{DURATION_PART})+|(?i:{fields})) *$'


MESSAGE: Final = (
    'schedule must be a 5-field cron expression with every field in range (minute 0-59, hour 0-23, day of month '
    '1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; ranges start ≤ end; steps 1-99) or a macro such as '
    '@hourly or @every <duration>'
)


def cel_rule(field: str = 'schedule') -> str:
    """The CRD's CEL rule for a schedule field (`pattern()` as a raw CEL string)."""
    return f"self.{field}.matches(r'{pattern()}')"
