"""Inventory scope from `main_host` snapshots (or `main_host_daily`): every enabled host, automated or not."""

from __future__ import annotations

import json
from typing import ClassVar

import pandas as pd

from .base import NO_ORGANIZATION, Rollup, identity, union_lists

INDEX = ['install_uuid', 'host_name']


def serial_of(canonical_facts: pd.Series) -> pd.Series:
    """`<ansible_product_serial>/<ansible_machine_id>` when both are known (the experimental dedup key)."""

    def one(text: object) -> str | None:
        try:
            facts = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            return None
        if not isinstance(facts, dict):
            return None
        serial, machine = facts.get('ansible_product_serial'), facts.get('ansible_machine_id')
        return f'{serial}/{machine}' if serial and machine and serial != 'NA' and machine != 'NA' else None

    values = canonical_facts.dropna().unique()
    return canonical_facts.map({v: one(v) for v in values}).astype('str')


class InventoryScope(Rollup):
    name: ClassVar[str] = 'main_host'
    sources: ClassVar[tuple[str, ...]] = ('main_host', 'main_host_daily')
    index: ClassVar[list[str]] = INDEX
    fields: ClassVar[dict[str, str]] = {
        'install_uuid': 'str', 'host_name': 'str', 'host_names': 'str', 'organizations': 'str', 'inventories': 'str',
        'first_automation': 'datetime64[us, UTC]', 'last_automation': 'datetime64[us, UTC]',
        'canonical_facts': 'str', 'facts': 'str', 'serial': 'str', 'seen': 'datetime64[us]',
    }  # fmt: skip

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw[raw['host_name'].notna()]
        wrap = lambda s: s.map({v: json.dumps([v], ensure_ascii=False) for v in s.dropna().unique()}).fillna('[]')  # noqa: E731
        return pd.DataFrame(
            {
                'install_uuid': install_uuid,
                'host_name': identity(raw['host_name'], raw['ansible_host_variable']),
                'host_names': wrap(raw['host_name']),
                'organizations': wrap(raw['organization_name'].fillna(NO_ORGANIZATION)),
                'inventories': wrap(raw['inventory_name']),
                'first_automation': raw['first_automation'],
                'last_automation': raw['last_automation'],
                'canonical_facts': raw['canonical_facts'],
                'facts': raw['facts'],
                'serial': serial_of(raw['canonical_facts']),
                'seen': day,
            }
        )

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._aggregate_in_order(frame.sort_values('seen', kind='stable'))

    def fold(self, frames: list[pd.DataFrame]) -> pd.DataFrame:
        """Aggregate rollups given in chronological order — a previous fold first, then later days — into one.

        Folding a period a few days at a time gives exactly `regroup` of all its days (whose concatenation is
        already in `seen` order): groups keep their order of first appearance, minima, maxima and the latest
        non-null values carry over, and list unions are sorted sets. Memory then holds a few days of snapshots
        instead of a month of them.
        """
        frame = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
        return self.empty() if frame is None else self._conform(self._aggregate_in_order(frame))

    def _aggregate_in_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        grouped = frame.groupby(INDEX, sort=False, dropna=False)
        out = grouped.agg(
            first_automation=('first_automation', 'min'),
            last_automation=('last_automation', 'max'),
            seen=('seen', 'max'),
        )
        latest = grouped[['canonical_facts', 'facts', 'serial']].last()  # last non-null value of each column
        lists = {c: union_lists(frame, INDEX, c) for c in ('host_names', 'organizations', 'inventories')}
        return pd.concat([out, latest, pd.DataFrame(lists)], axis=1).reset_index()
