"""build-report settings: METRICS_UTILITY_* report variables (reference §4.5), all problems reported together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from metrics_utility.library.dedup import CCSP_MODES, RENEWAL_MODES
from metrics_utility.library.reports.options import DEFAULT_SHEETS, REPORT_TYPES, VALID_SHEETS

from .common import PREFIX, ShipSettings, ship_settings, text

HEADER_FIELDS = {  # ReportOptions field → variable suffix
    'sku': 'REPORT_SKU', 'sku_description': 'REPORT_SKU_DESCRIPTION', 'h1_heading': 'REPORT_H1_HEADING',
    'company_name': 'REPORT_COMPANY_NAME', 'email': 'REPORT_EMAIL', 'rhn_login': 'REPORT_RHN_LOGIN',
    'business_leader': 'REPORT_COMPANY_BUSINESS_LEADER', 'procurement_leader': 'REPORT_COMPANY_PROCUREMENT_LEADER',
    'po_number': 'REPORT_PO_NUMBER', 'end_user_company_name': 'REPORT_END_USER_COMPANY_NAME',
    'end_user_city': 'REPORT_END_USER_CITY', 'end_user_state': 'REPORT_END_USER_STATE',
    'end_user_country': 'REPORT_END_USER_COUNTRY',
}  # fmt: skip
BUILD_TARGETS = ('directory', 's3')


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


def report_settings(env: Mapping[str, str], problems: list[str], *, report_type: str | None = None,
                    sheets: str | None = None) -> ReportSettings | None:  # fmt: skip
    """Parse every report variable; `report_type`/`sheets` (CLI flags) override the variables."""
    ship = ship_settings(env, BUILD_TARGETS, problems, path_must_exist=True)
    kind = report_type or text(env, 'REPORT_TYPE')
    if not kind:
        problems.append(f'{PREFIX}REPORT_TYPE is not set (nor --type); expected one of: {", ".join(REPORT_TYPES)}')
    elif kind not in REPORT_TYPES:
        problems.append(f'{PREFIX}REPORT_TYPE={kind!r} is not a report type; expected one of: '
                        f'{", ".join(REPORT_TYPES)} (case-sensitive)')  # fmt: skip
        kind = ''
    raw_sheets = sheets if sheets is not None else text(env, 'OPTIONAL_CCSP_REPORT_SHEETS')
    chosen = tuple(s.strip() for s in raw_sheets.split(',') if s.strip()) if raw_sheets else DEFAULT_SHEETS
    if kind in ('CCSP', 'CCSPv2'):
        if chosen == ('all',):
            chosen = VALID_SHEETS[kind]
        bad = [s for s in chosen if s not in VALID_SHEETS[kind]]
        if bad:
            problems.append(f'{PREFIX}OPTIONAL_CCSP_REPORT_SHEETS has {", ".join(map(repr, bad))}, not valid for '
                            f'{kind}; expected some of: {", ".join(VALID_SHEETS[kind])} (or "all")')  # fmt: skip
    default_dedup = 'renewal' if kind == 'RENEWAL_GUIDANCE' else 'ccsp'
    dedup = text(env, 'DEDUPLICATOR') or default_dedup
    allowed = RENEWAL_MODES if kind == 'RENEWAL_GUIDANCE' else CCSP_MODES
    if dedup not in allowed:
        problems.append(f'{PREFIX}DEDUPLICATOR={dedup!r} does not apply to {kind or "this report"}; expected one '
                        f'of: {", ".join(allowed)}')  # fmt: skip
    iterations_text = env.get('REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS', '3').strip() or '3'
    iterations = 3
    if not iterations_text.isdigit() or int(iterations_text) < 1:
        problems.append(f'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS={iterations_text!r}; expected a whole number ≥ 1')
    else:
        iterations = int(iterations_text)
    orgs_text = text(env, 'ORGANIZATION_FILTER')
    orgs = tuple(o.strip() for o in orgs_text.rstrip(';').split(';') if o.strip()) if orgs_text else ()
    if kind != 'CCSPv2':
        orgs = ()  # CCSPv2 only, as in metrics-utility (shared env files set it for every report type)
    price_text = text(env, 'PRICE_PER_NODE') or '0'
    price = 0.0
    try:  # decimal half-up: '11.555' is 11.56, not float rounding's 11.55
        exact = Decimal(price_text)
        if not exact.is_finite() or exact < 0:
            raise ValueError
        price = float(exact.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP))
    except (ValueError, ArithmeticError):
        problems.append(f'{PREFIX}PRICE_PER_NODE={price_text!r}; expected a non-negative number such as 11 or 11.50')
        price = 0.0
    header = {name: text(env, suffix) for name, suffix in HEADER_FIELDS.items()}
    if ship is None or not kind:
        return None
    return ReportSettings(ship, kind, chosen, dedup, iterations, orgs, price, header)
