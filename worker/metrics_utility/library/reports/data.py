"""The period's frames as a report consumes them: filtered by organization and deduplicated."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from metrics_utility.library import dedup
from metrics_utility.library.dataframes import PeriodData
from metrics_utility.library.extract import Problem
from metrics_utility.library.extract.multi import Controller


@dataclass
class ReportData:
    direct: pd.DataFrame
    events: pd.DataFrame
    indirect: pd.DataFrame
    scope: pd.DataFrame
    status: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    experimental: bool = False  # show the "before deduplication" columns
    controllers: dict[str, Controller] = field(default_factory=dict)  # install_uuid → URL/version (installations.py)

    @property
    def empty(self) -> bool:
        """No billing data at all (metrics-utility: 'No billing data', no report written)."""
        return self.direct.empty and self.events.empty and self.indirect.empty and self.scope.empty

    @classmethod
    def from_period(
        cls, period: PeriodData, organizations: tuple[str, ...] = (), deduplicator: str = 'ccsp'
    ) -> ReportData:
        """Apply the organization filter (to direct usage, events and indirect nodes) and the CCSP dedup mode."""
        direct, events, indirect = (
            period['job_host_summary'],
            period['main_jobevent'],
            period['main_indirectmanagednodeaudit'],
        )
        if organizations:
            wanted = set(organizations)
            direct = direct[direct['organization_name'].isin(wanted)]
            events = events[events['organization_name'].isin(wanted)]
            indirect = indirect[indirect['organization_name'].isin(wanted)]
        scope = period['main_host']
        mapping = dedup.identity_map(deduplicator, direct, scope)
        experimental = deduplicator != 'ccsp'
        if experimental:
            direct, events, scope = (
                dedup.apply(direct, mapping),
                dedup.apply(events, mapping),
                dedup.apply(scope, mapping),
            )
        return cls(
            direct.reset_index(drop=True),
            events.reset_index(drop=True),
            indirect.reset_index(drop=True),
            scope.reset_index(drop=True),
            period['data_collection_status'],
            list(period.problems),
            experimental,
        )
