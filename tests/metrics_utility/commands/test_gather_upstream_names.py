"""Every collector name metrics-utility 0.8 accepts in METRICS_UTILITY_OPTIONAL_COLLECTORS: one in-process gather
naming all 13 exits 0 on the SELECT-only role, ships upstream's columns for the three analytics-only collectors
(credentials_service, controller_version_service, table_metadata) without a secret, and build-report and package
verification accept what it shipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from metrics_utility.cli import main
from metrics_utility.demo.generator import CREDENTIALS, SECRET_SETTINGS
from metrics_utility.library.package.status import parse_status_csv
from metrics_utility.library.package.verify import read_package

pytestmark = pytest.mark.integration

# metrics-utility 0.8, docs and metrics_utility/management/validation.py: every valid OPTIONAL_COLLECTORS name.
UPSTREAM_NAMES = (
    'main_host',
    'main_host_daily',
    'main_hostmetric',
    'main_jobevent',
    'main_indirectmanagednodeaudit',
    'total_workers_vcpu',
    'controller_version_service',
    'credentials_service',
    'execution_environments',
    'job_host_summary_service',
    'main_jobevent_service',
    'table_metadata',
    'unified_jobs',
)
# metrics-utility 0.8, metrics_utility/library/collectors/controller/<key>.py: the SELECT lists.
UPSTREAM_COLUMNS = {
    'controller_version_service': ['controller_version'],
    'credentials_service': ['credential_type'],
    'table_metadata': [
        'schemaname',
        'tablename',
        'total_size_bytes',
        'table_size_bytes',
        'indexes_size_bytes',
        'estimated_row_count',
        'last_analyze',
        'last_vacuum',
    ],
}
SINCE, UNTIL = '2024-02-29', '2024-03-01'
TYPES_USED = """
SELECT DISTINCT t.name FROM main_unifiedjob_credentials uc
JOIN main_unifiedjob u ON u.id = uc.unifiedjob_id
JOIN main_credential c ON c.id = uc.credential_id
JOIN main_credentialtype t ON t.id = c.credential_type_id
WHERE t.managed AND u.finished >= %s AND u.finished < %s ORDER BY 1
"""


def _members(ship: Path) -> dict[str, list[bytes]]:
    """Every member of every shipped package, by member name."""
    found: dict[str, list[bytes]] = {}
    for path in sorted((ship / 'data').rglob('*.tar.gz')):
        with tarfile.open(path, 'r:gz') as tar:
            for member in tar.getmembers():
                found.setdefault(member.name.removeprefix('./'), []).append(tar.extractfile(member).read())
    return found


def _run(monkeypatch, env: dict[str, str], *argv: str) -> int:
    for key in [k for k in os.environ if k.startswith('METRICS_UTILITY_')]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return main(list(argv))


def test_every_upstream_name_is_gathered_verified_and_reported(controller_db, tmp_path, monkeypatch, capsys):
    ship, summary_file = tmp_path / 'ship', tmp_path / 'summary.json'
    env = {
        **controller_db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': ','.join(UPSTREAM_NAMES),
        'METRICS_UTILITY_CLUSTER_NAME': 'cluster-a',
        'METRICS_UTILITY_USAGE_BASED_METERING_ENABLED': 'false',
    }
    code = _run(
        monkeypatch, env, 'gather', '--ship', '--since', SINCE, '--until', UNTIL, '--summary-file', str(summary_file)
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads(summary_file.read_text())['ok'] is True

    members = _members(ship)
    for key, columns in UPSTREAM_COLUMNS.items():
        (data,) = members[f'{key}.csv']
        assert next(csv.reader(io.StringIO(data.decode()))) == columns, key
    rows = {key: list(csv.DictReader(io.StringIO(members[f'{key}.csv'][0].decode()))) for key in UPSTREAM_COLUMNS}
    with controller_db.connect_reader() as conn:
        types = [r[0] for r in conn.execute(TYPES_USED, (SINCE, UNTIL)).fetchall()]
    assert [r['credential_type'] for r in rows['credentials_service']] == types == ['Amazon Web Services', 'Machine']
    assert [r['controller_version'] for r in rows['controller_version_service']] == ['4.6.8']
    assert [r['tablename'] for r in rows['table_metadata']] == [
        'main_jobevent',
        'main_jobhostsummary',
        'main_unifiedjob',
    ]
    statuses = {
        (row['file_name'].rsplit('.', 1)[0], row['status'])
        for part in members['data_collection_status.csv']
        for row in parse_status_csv(part)
    }
    assert statuses == {(key, 'ok') for key in (*UPSTREAM_NAMES, 'job_host_summary')}  # each ran, none failed
    versions = {name: v for part in members['manifest.json'] for name, v in json.loads(part).items()}
    assert {versions[f'{key}.csv'] for key in UPSTREAM_COLUMNS} == {'1.4'}  # upstream's collector versions

    everything = b''.join(part for parts in members.values() for part in parts)
    secrets = [v.encode() for *_, inputs in CREDENTIALS for v in inputs.values()]
    secrets += [v.encode() for v in SECRET_SETTINGS.values()]
    assert [s for s in secrets if s in everything] == []

    packages = sorted((ship / 'data').rglob('*.tar.gz'))
    for path in packages:
        assert read_package(path).verified, path.name
    capsys.readouterr()
    report_env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(ship),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
    }
    assert _run(monkeypatch, report_env, 'build-report', '--since', SINCE, '--until', SINCE) == 0
    err = capsys.readouterr().err
    assert (ship / 'reports/2024/02/CCSPv2-2024-02-29--2024-02-29.xlsx').is_file()
    assert not [key for key in UPSTREAM_COLUMNS if key in err], err
