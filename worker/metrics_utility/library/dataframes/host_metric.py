"""Host metrics (`main_hostmetric`): the controller's own per-hostname automation counters.

Daily slices hold the rows whose last automation or deletion fell in that day; a later slice carries a newer state
of the same hostname, so the rollup keeps the latest row per (install, hostname).
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd

from .base import Rollup


class HostMetric(Rollup):
    name: ClassVar[str] = 'main_hostmetric'
    sources: ClassVar[tuple[str, ...]] = ('main_hostmetric',)
    index: ClassVar[list[str]] = ['install_uuid', 'hostname']
    fields: ClassVar[dict[str, str]] = {
        'install_uuid': 'str', 'hostname': 'str', 'host_id': 'Int64', 'first_automation': 'datetime64[us, UTC]',
        'last_automation': 'datetime64[us, UTC]', 'automated_counter': 'Int64', 'deleted_counter': 'Int64',
        'last_deleted': 'datetime64[us, UTC]', 'deleted': 'boolean', 'used_in_inventories': 'Int64',
        'ansible_product_serial': 'str', 'ansible_machine_id': 'str', 'ansible_host_variable': 'str',
        'seen': 'datetime64[us]',
    }  # fmt: skip

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw[raw['hostname'].notna()].copy()
        raw['install_uuid'], raw['seen'] = install_uuid, day
        return raw

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        latest = frame[['last_automation', 'last_deleted']].max(axis=1)
        order = frame.assign(_latest=latest).sort_values(['seen', '_latest'], kind='stable', na_position='first')
        return order.drop_duplicates(self.index, keep='last').drop(columns='_latest')
