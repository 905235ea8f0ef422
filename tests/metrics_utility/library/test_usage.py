"""Month-to-date usage from the daily rollups equals what the month's report bills; the gather helper never fails."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime

import pytest

from metrics_utility.cli import _parser
from metrics_utility.commands.build_report import run as build_report
from metrics_utility.gather.usage import month_usage
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.usage import month_to_date
from metrics_utility.settings.gather import usage_settings
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit


def _reachable(row: dict) -> bool:
    return sum(int(row[c] or 0) for c in ('ok', 'failures', 'skipped', 'ignored', 'rescued')) > 0


def test_month_to_date_matches_the_report_and_reuses_rollups(tmp_path, capsys):
    data = synthetic(date(2024, 2, 28), 2)
    data.write(tmp_path)
    usage = month_to_date(StorageDirectory(tmp_path), date(2024, 2, 29))
    assert (tmp_path / 'rollups/2024/02/29/manifest.json').is_file()  # persisted: the next hour reads parquet

    args = _parser().parse_args(['build-report', '--month', '2024-02', '--summary-file', str(tmp_path / 's.json')])
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
    }
    assert build_report(args, env=env, now=datetime(2024, 3, 2, tzinfo=UTC)) == 0
    billed = json.loads((tmp_path / 's.json').read_text())['quantity']
    assert usage.month == '2024-02' and usage.unique_managed_nodes == billed > 0
    jobs = {row['job_remote_id'] for row in data.all('job_host_summary') if _reachable(row)}
    assert usage.job_runs == len(jobs) and usage.days_with_data == 2
    # A day that has no data yet changes nothing; the figures are a pure function of storage.
    assert month_to_date(StorageDirectory(tmp_path), date(2024, 2, 29)) == usage


def test_gather_helper_is_opt_in_and_never_raises(tmp_path, caplog):
    synthetic(date(2024, 2, 28), 1).write(tmp_path)
    storage = StorageDirectory(tmp_path)
    assert month_usage(storage, usage_settings({}), date(2024, 2, 28)) is None
    on = {'METRICS_UTILITY_MONTH_USAGE': 'true'}
    assert month_usage(storage, usage_settings(on), date(2024, 2, 28))['month'] == '2024-02'
    assert month_usage(None, usage_settings(on), date(2024, 2, 28)) is None

    class Broken(StorageDirectory):
        def glob(self, pattern: str) -> list[str]:
            raise OSError('disk on fire')

    with caplog.at_level(logging.WARNING, logger='metrics_utility.gather'):
        assert month_usage(Broken(tmp_path), usage_settings(on), date(2024, 2, 28)) is None
    assert 'month-to-date usage not computed' in caplog.text
