"""The rollup-able dataframe: raw CSV rows → per-day rollup → re-aggregated period.

Every source has one class that knows its fields and index, even when empty. The same `aggregate` serves the daily
`group` (of raw rows, after removing rows delivered twice) and the period `regroup` (of daily rollups), so the
aggregations are associative: sums, minima, maxima and set unions. Anything that cannot be summed across days
(unique hosts, distinct jobs) is kept at the granularity that lets the report count it exactly.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

NO_ORGANIZATION = 'No organization name'


class Rollup:
    """Base class; subclasses set `name`, `sources`, `fields` (column → dtype, index first) and `index`."""

    name: ClassVar[str]
    sources: ClassVar[tuple[str, ...]]
    fields: ClassVar[dict[str, str]]
    index: ClassVar[list[str]]
    dedupe_on: ClassVar[list[str] | None] = None  # raw columns identifying a row delivered twice
    raw_fields: ClassVar[dict[str, str]] = {}  # columns `prepare` adds beyond `fields` (row ids, join keys)

    def __init__(self) -> None:
        self._raw: list[pd.DataFrame] = []
        self._rolled: list[pd.DataFrame] = []
        self.data: pd.DataFrame = self.empty()

    @classmethod
    def empty(cls) -> pd.DataFrame:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cls.fields.items()})

    # raw → rollup ---------------------------------------------------------------------------------------------------
    def add_csv(self, table: pa.Table, *, install_uuid: str, day: date) -> None:
        """Add one package's raw table (as read by the extractor) for partition `day`."""
        if table.num_rows:
            self._raw.append(self.prepare(table.to_pandas(), install_uuid, pd.Timestamp(day)))

    def prepare(self, raw: pd.DataFrame, install_uuid: str, day: pd.Timestamp) -> pd.DataFrame:
        raise NotImplementedError

    def group(self) -> pd.DataFrame:
        """Roll up the raw rows added so far (one day's worth) into `data`."""
        frame = _concat(self._raw, self.empty_raw())
        self._raw = []
        if self.dedupe_on is not None and len(frame):
            frame = drop_redelivered(frame, self.dedupe_on)
        self.data = self._conform(self.aggregate(frame))
        return self.data

    def empty_raw(self) -> pd.DataFrame:
        """What `prepare` returns, without rows: `fields` then `raw_fields`."""
        frame = self.empty()
        for column, dtype in self.raw_fields.items():
            frame[column] = pd.Series(dtype=dtype)
        return frame

    def aggregate(self, frame: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    # rollups → period -----------------------------------------------------------------------------------------------
    def add_parquet(self, path: str | Path) -> None:
        self.add_frame(pq.read_table(path).to_pandas())

    def add_frame(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._rolled.append(self._conform(frame))

    def regroup(self) -> pd.DataFrame:
        """Re-aggregate every rollup added (e.g. the days of a month) into `data`."""
        frame = _concat(self._rolled, self.empty())
        self._rolled = []
        self.data = self._conform(self.aggregate(frame)) if len(frame) else self.empty()
        return self.data

    # output ---------------------------------------------------------------------------------------------------------
    def to_parquet(self, path: str | Path) -> None:
        pq.write_table(pa.Table.from_pandas(self.data, preserve_index=False), path, compression='zstd')

    def to_csv(self, path: str | Path) -> None:
        self.data.to_csv(path, index=False)

    def to_json(self) -> str:
        buffer = io.StringIO()
        self.data.to_json(buffer, orient='records', date_format='iso')
        return buffer.getvalue()

    def _conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Exactly the declared columns, in order, with the declared dtypes."""
        frame = frame.reset_index(drop=True)
        out = {}
        for column, dtype in self.fields.items():
            series = frame[column] if column in frame else pd.Series([None] * len(frame), dtype=dtype)
            out[column] = series.astype(dtype) if str(series.dtype) != dtype else series
        return pd.DataFrame(out, copy=False)  # the columns as they are (copy-on-write): no second copy of a day


def _concat(frames: list[pd.DataFrame], empty: pd.DataFrame) -> pd.DataFrame:
    if not frames:
        return empty
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def drop_redelivered(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Drop rows delivered twice (same install and row id, e.g. an overlapping re-gather); rows without id stay."""
    with_id = frame[key[-1]].notna()
    if with_id.all():
        again = frame.duplicated(key)
        return frame[~again].reset_index(drop=True) if again.any() else frame  # no copy when none came twice
    return pd.concat([frame[with_id].drop_duplicates(key), frame[~with_id]], ignore_index=True)


BLANK = r'[ \t\r\n]*'  # a text made only of these names nothing


def blank(text: pd.Series) -> pd.Series:
    """True where the value is missing or only spaces, tabs and line breaks."""
    return text.isna() | text.astype('str').str.fullmatch(BLANK).fillna(True).astype(bool)


def identity(host_name: pd.Series, ansible_host: pd.Series) -> pd.Series:
    """The counted identity: the top-level `ansible_host` when set and not blank, else the inventory host name.

    Both are the exact strings the collector exported, never trimmed: ` web1` and `web1` are two identities (a
    trimmed name could merge two machines or split nothing; docs/reports.md).
    """
    return ansible_host.where(~blank(ansible_host), host_name)


def union_lists(frame: pd.DataFrame, keys: list[str], column: str) -> pd.Series:
    """Per `keys` group, the sorted union of the JSON lists in `column` (JSON text), vectorised.

    Daily snapshots repeat the same values, so rows are first reduced to distinct (keys, value); only groups left
    with several different values are parsed and merged.
    """
    distinct = frame[[*keys, column]].drop_duplicates()
    several = distinct.duplicated(keys, keep=False)
    single = distinct[~several].set_index(keys)[column]
    multi = distinct[several]
    if multi.empty:
        return single
    parsed = {v: json_list(v) for v in multi[column].unique()}
    exploded = multi.assign(_v=multi[column].map(parsed)).explode('_v').dropna(subset=['_v'])
    exploded = exploded.drop_duplicates([*keys, '_v']).sort_values('_v', kind='stable')
    merged = exploded.groupby(keys, sort=False)['_v'].agg(lambda s: json.dumps(list(s), ensure_ascii=False))
    return pd.concat([single, merged])


def json_list(value: object) -> list[str]:
    """The items of a JSON list kept in a text cell (a scalar or non-JSON text is one item; empty: none)."""
    if not isinstance(value, str) or not value:
        return []
    try:
        items = json.loads(value)
    except ValueError:
        return [value]
    return [str(i) for i in (items if isinstance(items, list) else [items])]
