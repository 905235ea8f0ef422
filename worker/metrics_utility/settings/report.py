"""build-report settings: METRICS_UTILITY_* report variables (reference §4.5), all problems reported together."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from metrics_utility import contract

from .common import PREFIX, ShipSettings, nul_problems, ship_settings, shown
from .environment import Environment
from .network import network_settings
from .variables import declared

# From the contract, not library.reports: reading settings must not load the report stack (pandas, openpyxl).
REPORT_TYPES, VALID_SHEETS, DEFAULT_SHEETS = contract.REPORT_TYPES, contract.SHEETS, contract.DEFAULT_SHEETS
HEADER_FIELDS = {f.option: f.variable for f in contract.HEADER_FIELDS}  # ReportOptions field → variable suffix
BUILD_TARGETS = ('directory', 's3', 'controller_db')
ITERATIONS = 'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS'  # no METRICS_UTILITY_ prefix, as in metrics-utility
MAX_ITERATIONS = declared(ITERATIONS).high
# A non-negative ASCII number as metrics-utility's float() reads one: an optional '+', '_' between digits, an
# exponent (11, 11.50, +5, 1_000, 1e3); not a sign '-', NaN, infinity or non-ASCII digits (float() takes them too,
# but no price is written so). The value is checked to lie in [0, MAX_PRICE] after parsing.
_DIGITS = r'[0-9](?:_?[0-9]){0,39}'
_PRICE = re.compile(rf'\+?(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?[0-9]{{1,3}})?')
MAX_PRICE = Decimal(10) ** 15


@dataclass(frozen=True)
class ReportSettings:
    ship: ShipSettings
    report_type: str
    sheets: tuple[str, ...]
    deduplicator: str
    dedup_iterations: int
    organization_filter: tuple[str, ...]
    price_per_node: float
    header: dict[str, str]


def report_settings(
    env: Mapping[str, str] | Environment,
    problems: list[str],
    *,
    report_type: str | None = None,
    sheets: str | None = None,
) -> ReportSettings | None:
    """Parse every report variable; `report_type`/`sheets` (CLI flags, or the environment's overrides) replace the
    variables and pass the same checks, each message naming the flag when the value came from one (a flag given
    empty is an error)."""
    env = Environment.of(env)
    if report_type is None and (given := env.flag('METRICS_UTILITY_REPORT_TYPE')) is not None:
        report_type = str(given[1])
    if sheets is None and (given := env.flag('METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS')) is not None:
        sheets = str(given[1])
    problems += nul_problems({k: v for k, v in env.values.items() if k.startswith(PREFIX) or k == ITERATIONS})
    problems += nul_problems({f: v for f, v in (('--type', report_type), ('--sheets', sheets)) if v is not None})
    ship = ship_settings(env, BUILD_TARGETS, problems, path_must_exist=True)
    network_settings(env, problems)  # the proxy and CA bundle of S3 storage and sources, checked before the run
    type_label = '--type' if report_type is not None else f'{PREFIX}REPORT_TYPE'
    kind = report_type.strip() if report_type is not None else env.text('METRICS_UTILITY_REPORT_TYPE') or ''
    if not kind:
        missing = '--type is empty' if report_type is not None else f'{PREFIX}REPORT_TYPE is not set (nor --type)'
        problems.append(f'{missing}; expected one of: {", ".join(REPORT_TYPES)}')
    elif kind not in REPORT_TYPES:
        problems.append(
            f'{type_label}={shown(kind)} is not a report type; expected one of: '
            f'{", ".join(REPORT_TYPES)} (case-sensitive)'
        )
        kind = ''
    sheets_label = '--sheets' if sheets is not None else f'{PREFIX}OPTIONAL_CCSP_REPORT_SHEETS'
    raw_sheets = sheets if sheets is not None else env.text('METRICS_UTILITY_OPTIONAL_CCSP_REPORT_SHEETS')
    chosen = tuple(s.strip() for s in raw_sheets.split(',') if s.strip()) if raw_sheets else DEFAULT_SHEETS
    if sheets is not None and not sheets.replace(',', '').strip():
        problems.append('--sheets names no sheet; expected a comma list of sheet names or "all"')
    if kind in ('CCSP', 'CCSPv2'):
        if chosen == ('all',):
            chosen = VALID_SHEETS[kind]
        bad = [s for s in chosen if s not in VALID_SHEETS[kind]]
        if bad:
            problems.append(
                f'{sheets_label} has {", ".join(map(shown, bad))}, not valid for '
                f'{kind}; expected some of: {", ".join(VALID_SHEETS[kind])} (or "all")'
            )
    if ship is not None and ship.target == 'controller_db' and kind in ('CCSP', 'CCSPv2'):
        problems.append(
            f'{PREFIX}SHIP_TARGET=controller_db reads only RENEWAL_GUIDANCE from the controller '
            f'database; a {kind} report reads gathered packages: set {PREFIX}SHIP_TARGET=directory (or '
            's3)'
        )
    default_dedup = 'renewal' if kind == 'RENEWAL_GUIDANCE' else 'ccsp'
    dedup = env.text('METRICS_UTILITY_DEDUPLICATOR') or default_dedup
    allowed = contract.RENEWAL_DEDUPLICATORS if kind == 'RENEWAL_GUIDANCE' else contract.CCSP_DEDUPLICATORS
    if dedup not in allowed:
        problems.append(
            f'{PREFIX}DEDUPLICATOR={shown(dedup)} does not apply to {kind or "this report"}; expected one '
            f'of: {", ".join(allowed)}'
        )
    iterations = env.whole(ITERATIONS, problems, 3)
    orgs = organization_filter(env, kind)
    price_text = env.text('METRICS_UTILITY_PRICE_PER_NODE') or '0'
    price = 0.0
    try:  # decimal half-up: '11.555' is 11.56, not float rounding's 11.55
        if not _PRICE.fullmatch(price_text):
            raise ValueError
        exact = Decimal(price_text)
        if exact > MAX_PRICE:
            raise ValueError
        price = float(exact.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))
    except (ValueError, ArithmeticError):
        problems.append(
            f'{PREFIX}PRICE_PER_NODE={shown(price_text)}; expected a non-negative number such as 11 or 11.50'
        )
        price = 0.0
    header = {name: env.text(PREFIX + suffix) or '' for name, suffix in HEADER_FIELDS.items()}
    if ship is None or not kind:
        return None
    return ReportSettings(ship, kind, chosen, dedup, iterations, orgs, price, header)


def organization_filter(env: Environment, kind: str) -> tuple[str, ...]:
    """The `;`-separated organizations of a CCSPv2 report; () for other types, as in metrics-utility (shared env
    files set it for every report type). Month-to-date usage in the gather summary applies the same rule."""
    text = env.text('METRICS_UTILITY_ORGANIZATION_FILTER')
    if kind != 'CCSPv2' or not text:
        return ()
    separator = contract.LIST_SEPARATORS['ORGANIZATION_FILTER']
    return tuple(o.strip() for o in text.rstrip(separator).split(separator) if o.strip())
