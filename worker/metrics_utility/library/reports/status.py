"""Data collection status: gaps in what was gathered, the raw status rows, and the problems met reading them.

A gap is time not covered by any successful collection of a file: per file, successful [since, until) windows are
sorted and merged; anything uncovered for more than 2 s between the period start and end is listed. Snapshot
collections (since == until) prove a run happened but cover no window, so they are listed but not gap-checked.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd

GAP_TOLERANCE_SECONDS = 2.0


def gaps(status: pd.DataFrame, since: date, until: date) -> pd.DataFrame:
    start = pd.Timestamp(datetime(since.year, since.month, since.day, tzinfo=UTC))
    end = pd.Timestamp(datetime(until.year, until.month, until.day, tzinfo=UTC))
    rows = []
    ok = status[(status['status'] == 'ok') & status['since'].notna() & status['until'].notna()]
    ok = ok[ok['until'] > ok['since']]
    for file_name, windows in ok.groupby('file_name', sort=True):
        covered = start
        for since_, until_ in windows.sort_values('since')[['since', 'until']].itertuples(index=False):
            if since_ >= end:
                break
            if (since_ - covered).total_seconds() > GAP_TOLERANCE_SECONDS:
                rows.append((file_name, covered, since_, (since_ - covered).total_seconds()))
            covered = max(covered, until_)
        if (end - covered).total_seconds() > GAP_TOLERANCE_SECONDS:
            rows.append((file_name, covered, end, (end - covered).total_seconds()))
    return pd.DataFrame(rows, columns=['file_name', 'missing_from', 'missing_until', 'gap_seconds'])


def raw(status: pd.DataFrame) -> pd.DataFrame:
    """Status rows in collection order, with seconds since the previous collection of the same file."""
    out = status.sort_values(['file_name', 'collection_start_timestamp'], kind='stable', ignore_index=True)
    previous = out.groupby('file_name')['collection_start_timestamp'].shift()
    out['since_previous'] = (out['collection_start_timestamp'] - previous).dt.total_seconds()
    return out


def interval_class(value: float | None, median: float | None) -> str:
    """'ok' / 'late' (≥2× the median interval) / 'very late' (≥3×) for the colour of the last column."""
    if value is None or median is None or pd.isna(value) or pd.isna(median) or median <= 0:
        return 'ok'
    if value >= 3 * median:
        return 'very late'
    return 'late' if value >= 2 * median else 'ok'
