"""Collection status: every `data_collection_status.csv` row, with the package it came from."""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
import pyarrow as pa

from .base import Rollup


class CollectionStatus(Rollup):
    name: ClassVar[str] = 'data_collection_status'
    sources: ClassVar[tuple[str, ...]] = ('data_collection_status',)
    index: ClassVar[list[str]] = ['install_uuid', 'file_name', 'since', 'until', 'collection_start_timestamp']
    fields: ClassVar[dict[str, str]] = {
        'day': 'datetime64[us]', 'install_uuid': 'str', 'tarball': 'str', 'collection_start_timestamp':
        'datetime64[us, UTC]', 'since': 'datetime64[us, UTC]', 'until': 'datetime64[us, UTC]', 'file_name': 'str',
        'status': 'str', 'elapsed': 'float64', 'unreadable_rows': 'Int64',
    }  # fmt: skip

    def add_package(self, table: pa.Table, *, install_uuid: str, day: pd.Timestamp, tarball: str) -> None:
        if table.num_rows:
            frame = table.to_pandas()
            frame['day'], frame['install_uuid'], frame['tarball'] = pd.Timestamp(day), install_uuid, tarball
            self._raw.append(frame)

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raw = raw.copy()
        raw['day'], raw['install_uuid'], raw['tarball'] = day, install_uuid, ''
        return raw

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame.drop_duplicates(['install_uuid', 'tarball', 'file_name', 'since', 'until']).sort_values(
            ['install_uuid', 'file_name', 'since', 'collection_start_timestamp'], kind='stable'
        )
