"""What a report is asked to be: type, period, sheets, header fields, filters and deduplication."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from metrics_utility import contract

REPORT_TYPES = ('CCSP', 'CCSPv2', 'RENEWAL_GUIDANCE')
CCSPV2_SHEETS = (
    'ccsp_summary', 'jobs', 'managed_nodes', 'indirectly_managed_nodes', 'inventory_scope', 'infrastructure_summary',
    'usage_by_organizations', 'usage_by_collections', 'usage_by_roles', 'usage_by_modules', 'data_collection_status',
    'managed_nodes_by_organizations', 'usage_trend',
    'usage_by_installations',  # several controllers: reports/installations.py
)  # fmt: skip
CCSP_SHEETS = tuple(s for s in CCSPV2_SHEETS if s not in ('jobs', 'data_collection_status', 'usage_by_installations'))
DEFAULT_SHEETS = contract.DEFAULT_SHEETS  # one definition: the settings read it without loading the report stack
VALID_SHEETS = {'CCSPv2': CCSPV2_SHEETS, 'CCSP': CCSP_SHEETS, 'RENEWAL_GUIDANCE': ()}


@dataclass(frozen=True)
class ReportOptions:
    """All inputs of a report besides the data. `until` is exclusive (the CLI's inclusive day + 1)."""

    report_type: str
    since: date
    until: date
    month: str | None = None
    sheets: tuple[str, ...] = DEFAULT_SHEETS
    price_per_node: float = 0.0
    sku: str = ''
    sku_description: str = ''
    h1_heading: str = ''
    company_name: str = ''
    email: str = ''
    rhn_login: str = ''
    business_leader: str = ''
    procurement_leader: str = ''
    po_number: str = ''
    end_user_company_name: str = ''
    end_user_city: str = ''
    end_user_state: str = ''
    end_user_country: str = ''
    organization_filter: tuple[str, ...] = ()
    deduplicator: str = 'ccsp'
    ephemeral_days: int | None = None
    generated: datetime = field(default_factory=lambda: datetime.now(tz=UTC))

    @property
    def period_label(self) -> str:
        """'2024-02' for a month, else '2024-02-01, 2024-02-15' (inclusive end, as the CLI took it)."""
        if self.month:
            return self.month
        from datetime import timedelta

        return f'{self.since.isoformat()}, {(self.until - timedelta(days=1)).isoformat()}'

    def wants(self, sheet: str) -> bool:
        return sheet in self.sheets
