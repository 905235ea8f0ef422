"""Packages and watermarks exactly as metrics-utility 0.8 leaves them on a claim, an S3 bucket and the controller.

Written from its format (docs/package.md, the behaviour reference), not from its code:
- name `<install_uuid>-<since %Y-%m-%d-%H%M%S%z>-<until …>-<index>-<key>.tar.gz` in `data/YYYY/MM/DD/` (the UTC day
  of `since`); one package per collector per daily slice, split CSV parts as index 0, 1, …; no `package_info.json`;
- members `./<key>.csv`, `./config.json`, `./data_collection_status.csv`, `./manifest.json` in that order (gzip tar
  from `tarfile`, owner `awx`/`root`), the CSV as PostgreSQL's `COPY … CSV HEADER` wrote it (a header-only file for an
  empty slice: its collectors keep empty results), the status CSV from `csv.DictWriter` (CRLF, `str(datetime)`);
- manifest `{"<key>.csv": <collector version>, "config.json": "1.0", "data_collection_status.csv": "1.0"}`;
- daily slicing: from the start to the next UTC midnight, whole days, the last slice ending at `until`;
- the watermarks: `conf_setting` `AUTOMATION_ANALYTICS_LAST_ENTRIES`, a jsonb string holding the JSON object
  `{key: timestamp}` written by Django's JSON encoder (milliseconds, `Z`).

The CSV data of a gather-like run comes from our own collectors, which export upstream's columns (version 1.2 of
`job_host_summary` and so on); `OLD_COLUMNS` gives the column sets of older collector versions.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from metrics_utility.library.collectors.registry import COLLECTORS

from .report_data import COLUMNS

VERSIONS = {
    'job_host_summary': '1.2',
    'main_jobevent': '1.0',
    'main_host': '1.0',
    'main_host_daily': '1.0',
    'main_indirectmanagednodeaudit': '1.0',
    'main_hostmetric': '1.1',
}
# job_host_summary 1.0 (releases <= 0.1.0) had no host variables nor job_created; 1.1 added the host columns.
_JHS_12 = COLUMNS['job_host_summary']
OLD_COLUMNS = {
    ('job_host_summary', '1.0'): [
        c
        for c in _JHS_12
        if c not in ('host_remote_id', 'ansible_host_variable', 'ansible_connection_variable', 'job_created')
    ],
    ('job_host_summary', '1.1'): [c for c in _JHS_12 if c != 'job_created'],
}
STATUS_HEADER = ['collection_start_timestamp', 'since', 'until', 'file_name', 'status', 'elapsed']


def instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime('%Y-%m-%d-%H%M%S%z')


def name(install_uuid: str, since: datetime, until: datetime, index: int, key: str | None) -> str:
    base = f'{install_uuid}-{instant(since)}-{instant(until)}-{index}'
    return f'{base}.tar.gz' if key is None else f'{base}-{key}.tar.gz'


def config_json(install_uuid: str, ship_path: str = '/metrics-utility') -> dict[str, Any]:
    """config.json of a 0.8 directory gather (billing_provider_params included, as upstream writes it)."""
    return {
        'platform': {
            'system': 'Linux',
            'dist': ['Red Hat Enterprise Linux', '9.4', ''],
            'release': '5.14.0',
            'type': 'openshift',
        },
        'install_uuid': install_uuid,
        'instance_uuid': install_uuid,
        'controller_url_base': 'https://aap.example.com',
        'controller_version': '4.6.8',
        'license_type': 'enterprise',
        'license_date': 1893456000,
        'subscription_name': 'Red Hat Ansible Automation, Premium (100 Managed Nodes)',
        'sku': 'MCT3695',
        'support_level': 'Premium',
        'usage': 'Production',
        'product_name': 'Red Hat Ansible Automation Platform',
        'valid_key': True,
        'satellite': False,
        'pool_id': 'a1b2c3',
        'subscription_id': 12345678,
        'account_number': '1234567',
        'current_instances': 40,
        'automated_instances': 40,
        'automated_since': 1700000000,
        'trial': False,
        'grace_period_remaining': 0,
        'compliant': True,
        'date_warning': False,
        'date_expired': False,
        'subscription_usage_model': '',
        'free_instances': 60,
        'total_licensed_instances': 100,
        'license_expiry': 1000,
        'pendo_tracking': 'off',
        'authentication_backends': ['django.contrib.auth.backends.ModelBackend'],
        'logging_aggregators': ['awx'],
        'external_logger_enabled': False,
        'external_logger_type': None,
        'metrics_utility_version': '0.8.20261025',
        'billing_provider_params': {'ship_path': ship_path},
    }


def status_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=STATUS_HEADER)  # CRLF line ends, None as an empty cell
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def write_package(
    base: Path,
    *,
    install_uuid: str,
    key: str,
    since: datetime,
    until: datetime,
    data: bytes,
    index: int = 0,
    version: str | None = None,
    gathered: datetime | None = None,
    config: dict[str, Any] | bool = True,
    status: bool = True,
    manifest: bool = True,
    extra: tuple[tuple[str, bytes], ...] = (),
    name_key: str | None = '',
) -> Path:
    """One package as `<base>/data/YYYY/MM/DD/<name>`. `config=False`, `status=False`, `manifest=False` leave that
    member out (upstream logs and ships without it when writing it failed); `extra` adds members after the data
    file; `name_key` None omits the key (releases <= 0.6.0), '' names the package after `key`."""
    gathered = gathered or until + timedelta(minutes=10)
    members: list[tuple[str, bytes, bool]] = [(f'./{key}.csv', data, True)]
    members += [(member, content, True) for member, content in extra]
    if config is not False:
        cfg = config_json(install_uuid) if config is True else config
        members.append(('./config.json', json.dumps(cfg).encode(), False))
    if status:
        row = {
            'collection_start_timestamp': gathered,
            'since': since,
            'until': until,
            'file_name': f'{key}.csv',
            'status': 'ok',
            'elapsed': 0,
        }
        members.append(('./data_collection_status.csv', status_csv([row]), True))
    if manifest:
        listed = {f'{key}.csv': version or VERSIONS[key]}
        if config is not False:
            listed['config.json'] = '1.0'
        if status:
            listed['data_collection_status.csv'] = '1.0'
        members.append(('./manifest.json', json.dumps(listed).encode(), False))
    folder = base / 'data' / since.astimezone(UTC).strftime('%Y/%m/%d')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name(install_uuid, since, until, index, key if name_key == '' else name_key)
    with tarfile.open(path, 'w:gz') as tar:
        for member, content, from_disk in members:
            info = tarfile.TarInfo(member)
            info.size, info.mode = len(content), 0o644
            info.mtime = int(gathered.timestamp())
            if from_disk:  # files tar.add()ed from the temporary directory keep their owner
                info.uname, info.gname = 'awx', 'root'
            tar.addfile(info, io.BytesIO(content))
    return path


def daily_slices(start: datetime, until: datetime) -> Iterator[tuple[datetime, datetime]]:
    """metrics-utility's daily slicing: to the next UTC midnight, then whole days, the last one ending at `until`."""
    midnight = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if until > midnight:
        yield start, midnight
        start = midnight
    while start < until:
        end = min(start + timedelta(days=1), until)
        yield start, end
        start = end


def gather(
    conn: psycopg.Connection,
    base: Path,
    work: Path,
    *,
    install_uuid: str,
    keys: list[str],
    start: datetime,
    until: datetime,
) -> list[Path]:
    """What metrics-utility's directory gather leaves from `start` to `until` for the windowed `keys`: one package
    per key per slice (a header-only CSV for an empty slice, split parts as separate packages)."""
    paths: list[Path] = []
    for key in keys:
        for number, (since, end) in enumerate(daily_slices(start, until)):
            out = work / f'{key}-{number}'
            files = COLLECTORS[key](db=conn, since=since, until=end, output_dir=out).gather()
            parts = [Path(f).read_bytes() for f in files] or [(','.join(COLUMNS[key]) + '\n').encode()]
            for index, data in enumerate(parts):
                paths.append(
                    write_package(
                        base, install_uuid=install_uuid, key=key, since=since, until=end, data=data, index=index
                    )
                )
    return paths


def django_instant(value: datetime) -> str:
    """A timestamp as Django's JSON encoder writes it: ISO 8601, milliseconds, `Z` for UTC."""
    text = value.astimezone(UTC).isoformat()
    if value.microsecond:
        text = text[:23] + text[26:]
    return text.removesuffix('+00:00') + 'Z'


def last_entries(marks: dict[str, datetime]) -> str:
    """The jsonb text of the `AUTOMATION_ANALYTICS_LAST_ENTRIES` value: a JSON string holding the JSON object."""
    return json.dumps(json.dumps({key: django_instant(at) for key, at in marks.items()}))


def set_last_entries(conn: psycopg.Connection, jsonb_text: str | None) -> None:
    """Replace the row's value with `jsonb_text` (jsonb syntax), or delete the row when None (owner connection)."""
    conn.execute("DELETE FROM conf_setting WHERE key = 'AUTOMATION_ANALYTICS_LAST_ENTRIES'")
    if jsonb_text is not None:
        conn.execute(
            'INSERT INTO conf_setting (created, modified, key, value, user_id) '
            "VALUES (now(), now(), 'AUTOMATION_ANALYTICS_LAST_ENTRIES', %s::jsonb, NULL)",
            (jsonb_text,),
        )
    conn.commit()
