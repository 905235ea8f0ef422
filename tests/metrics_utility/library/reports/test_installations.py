"""The per-installation figures: each installation's own counts, a total that counts a shared node once."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from metrics_utility.library.extract.multi import Controller, controllers, read_config
from metrics_utility.library.reports import ReportOptions
from metrics_utility.library.reports.installations import TOTAL, by_installation, with_sheet
from metrics_utility.library.reports.options import DEFAULT_SHEETS
from metrics_utility.library.storage import StorageDirectory
from testsupport.report_data import synthetic, write_tarball

pytestmark = pytest.mark.unit
T = datetime(2024, 2, 28, 10, tzinfo=UTC)


def _direct(rows: list[tuple[str, int, str, int]]) -> pd.DataFrame:
    """(install, job, identity, task runs) → the direct frame's columns the figures use."""
    return pd.DataFrame(
        [
            {
                'install_uuid': i,
                'job_remote_id': j,
                'host_name': h,
                'task_runs': t,
                'organization_name': 'Default',
                'first_automation': T,
                'last_automation': T,
                'job_created': T,
            }
            for i, j, h, t in rows
        ]
    )


def test_total_counts_a_node_of_two_installations_once():
    direct = _direct(
        [('A', 1, 'web01', 3), ('A', 1, 'db01', 2), ('A', 2, 'web01', 1), ('B', 1, 'web01', 5), ('B', 7, 'lb01', 4)]
    )
    frame = by_installation(direct, {'A': Controller('A', 'https://a.example.com', '4.6.8')})
    rows = frame.set_index('install_uuid').to_dict('index')
    assert list(frame['install_uuid']) == ['A', 'B', TOTAL]
    assert rows['A']['url'] == 'https://a.example.com' and rows['B']['url'] == ''
    assert (
        rows['A']['unique_nodes'],
        rows['A']['job_runs'],
        rows['A']['non_unique_nodes'],
        rows['A']['task_runs'],
        rows['A']['shared_nodes'],
    ) == (2, 2, 3, 6, 1)
    assert (rows['B']['unique_nodes'], rows['B']['job_runs'], rows['B']['shared_nodes']) == (2, 2, 1)
    total = rows[TOTAL]
    assert total['unique_nodes'] == 3  # web01 once, not 2 + 2
    assert total['job_runs'] == 4  # job 1 of A and job 1 of B are different runs
    assert total['task_runs'] == 15 and total['shared_nodes'] == 1 and total['non_unique_nodes'] == 5


def test_no_usage_gives_no_rows():
    assert by_installation(_direct([]).reindex(columns=['install_uuid', 'host_name'])).empty


@pytest.mark.parametrize(
    ('kind', 'sheets', 'installs', 'added'),
    [
        ('CCSPv2', DEFAULT_SHEETS, ['A', 'B'], True),
        ('CCSPv2', DEFAULT_SHEETS, ['A'], False),
        ('CCSPv2', ('ccsp_summary',), ['A', 'B'], False),  # an explicit list is honoured exactly
        ('CCSP', DEFAULT_SHEETS, ['A', 'B'], False),
    ],
)
def test_sheet_is_added_to_default_lists_when_several_installations(kind, sheets, installs, added):
    options = ReportOptions(kind, date(2024, 2, 1), date(2024, 3, 1), '2024-02', sheets)
    direct = _direct([(i, 1, 'web01', 1) for i in installs])
    assert with_sheet(options, direct).wants('usage_by_installations') is added


def test_controllers_come_from_config_json(tmp_path):
    synthetic(date(2024, 2, 28), 1, install_uuid='11111111-1111-4111-8111-111111111111').write(tmp_path)
    found = controllers(StorageDirectory(tmp_path), date(2024, 2, 1), date(2024, 3, 1))
    assert found == {
        '11111111-1111-4111-8111-111111111111': Controller('11111111-1111-4111-8111-111111111111', '', '4.6.8')
    }


def test_config_of_a_broken_or_hostile_package_is_empty(tmp_path):
    garbage = tmp_path / 'x.tar.gz'
    garbage.write_bytes(b'not a tarball')
    assert read_config(garbage) == {}
    linked = tmp_path / 'link.tar.gz'
    with tarfile.open(linked, 'w:gz') as tar:
        info = tarfile.TarInfo('./config.json')
        info.type, info.linkname = tarfile.SYMTYPE, '/etc/passwd'
        tar.addfile(info)
    assert read_config(linked) == {}
    lone = tmp_path / 'lone.tar.gz'  # a config.json alone is no package: manifest and status are missing
    with tarfile.open(lone, 'w:gz') as tar:
        data = b'{"install_uuid": "u", "controller_url_base": "https://c"}'
        info = tarfile.TarInfo('./config.json')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert read_config(lone) == {}
    day = datetime(2024, 2, 28, tzinfo=UTC)
    good = write_tarball(
        tmp_path,
        key='job_host_summary',
        rows=[],
        since=day,
        until=day + timedelta(days=1),
        config={'install_uuid': 'u', 'controller_url_base': 'https://c'},
    )
    assert read_config(good)['controller_url_base'] == 'https://c'
