"""Tarballs shaped exactly like the gather pipeline's output, for report tests and the report benchmark.

The CSV columns, their order and their text forms (PostgreSQL `COPY … CSV HEADER`: timestamps like `2024-02-29
10:00:00.123456+00`, booleans `t`/`f`, NULL as an empty field, JSON as text) follow metrics-utility's collectors
(`library/extract/columns.py`); the tarball members and names follow docs/package.md. Tests compute their expected
figures from the rows kept in `SyntheticData`, independently of the code under test.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from metrics_utility.library.extract.columns import SCHEMAS
from metrics_utility.library.reports.options import ReportOptions

JOB_HOST_SUMMARY = [
    'id', 'created', 'modified', 'host_name', 'host_remote_id', 'ansible_host_variable',
    'ansible_connection_variable', 'changed', 'dark', 'failures', 'ok', 'processed', 'skipped', 'failed', 'ignored',
    'rescued', 'job_created', 'job_remote_id', 'job_template_remote_id', 'job_template_name', 'inventory_remote_id',
    'inventory_name', 'organization_remote_id', 'organization_name', 'project_remote_id', 'project_name',
]  # fmt: skip
MAIN_JOBEVENT = [
    'main_jobhostsummary_id', 'main_jobhostsummary_created', 'id', 'created', 'modified', 'job_created', 'event',
    'task_action', 'resolved_action', 'resolved_role', 'duration', 'failed', 'changed', 'playbook', 'play', 'task',
    'role', 'job_remote_id', 'host_remote_id', 'host_name',
]  # fmt: skip
MAIN_HOST = [
    'host_name', 'host_id', 'inventory_remote_id', 'inventory_name', 'organization_remote_id', 'organization_name',
    'last_automation', 'first_automation', 'ansible_host_variable', 'canonical_facts', 'facts',
]  # fmt: skip
INDIRECT = [
    'id', 'created', 'host_name', 'host_remote_id', 'canonical_facts', 'facts', 'events', 'task_runs', 'job_created',
    'job_remote_id', 'job_template_remote_id', 'job_template_name', 'inventory_remote_id', 'inventory_name',
    'organization_remote_id', 'organization_name', 'project_remote_id', 'project_name',
]  # fmt: skip
HOSTMETRIC = [
    'hostname', 'host_id', 'first_automation', 'last_automation', 'automated_counter', 'deleted_counter',
    'last_deleted', 'deleted', 'id', 'used_in_inventories', 'ansible_product_serial', 'ansible_machine_id',
    'ansible_host_variable', 'ansible_connection_variable',
]  # fmt: skip
STATUS = ['collection_start_timestamp', 'since', 'until', 'file_name', 'status', 'elapsed']
COLUMNS = {
    'job_host_summary': JOB_HOST_SUMMARY,
    'main_jobevent': MAIN_JOBEVENT,
    'main_host': MAIN_HOST,
    'main_indirectmanagednodeaudit': INDIRECT,
    'main_hostmetric': HOSTMETRIC,
}
VERSIONS = {
    'job_host_summary': '1.2',
    'main_jobevent': '1.0',
    'main_host': '1.1',
    'main_indirectmanagednodeaudit': '1.0',
    'main_hostmetric': '1.1',
}
INSTALL_UUID = '2b54dd1f-8c3a-4b6e-9d2f-0a1b2c3d4e5f'


def partner_february(kind: str, sheets: tuple[str, ...], price_per_node: float, **extra: Any) -> ReportOptions:
    """February 2024's report for the fixed partner header the layout and golden tests pin (generated 2 Mar 04:00)."""
    return ReportOptions(
        kind,
        date(2024, 2, 1),
        date(2024, 3, 1),
        month='2024-02',
        sheets=sheets,
        price_per_node=price_per_node,
        sku='MCT3752MO',
        company_name='Partner Ltd',
        generated=datetime(2024, 3, 2, 4, tzinfo=UTC),
        **extra,
    )


def pg_ts(value: datetime | None) -> str:
    """A timestamptz as PostgreSQL's CSV COPY writes it in a UTC session."""
    if value is None:
        return ''
    text = value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')
    if value.microsecond:
        text += f'.{value.microsecond:06d}'.rstrip('0')
    return text + '+00'


def pg_bool(value: bool) -> str:
    return 't' if value else 'f'


def stamp(value: datetime) -> str:
    """The since/until form used in tarball names: 2024-04-16-000000+0000."""
    return value.astimezone(UTC).strftime('%Y-%m-%d-%H%M%S+0000')


# Columns PostgreSQL exports as text: there an empty string is written `""`, unlike NULL (an unquoted empty field).
TEXT_COLUMNS = frozenset(n for schema in SCHEMAS.values() for n, t in schema.items() if t == pa.string())


def pg_field(value: Any, text: bool = True) -> str:
    """One field as PostgreSQL's COPY CSV writes it: NULL as nothing, quoted when empty (text), or holding `,` `"` or
    a line break. Tests pass '' for a NULL non-text value (`pg_ts(None)`): that stays NULL."""
    if value is None or (value == '' and not text):
        return ''
    value = str(value)
    if value == '' or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def summary_row(
    i: int,
    host: str,
    job: int,
    at: datetime,
    *,
    ok: int = 1,
    dark: int = 0,
    ansible_host: str | None = None,
    org: str | None = 'Default',
    host_id: int | None = None,
) -> dict[str, Any]:
    """One job_host_summary row of job `job` (created `at`, template 'tpl'), the summary created `i` minutes later."""
    return {
        'id': i,
        'created': pg_ts(at + timedelta(minutes=i)),
        'modified': pg_ts(at),
        'host_name': host,
        'host_remote_id': host_id,
        'ansible_host_variable': ansible_host,
        'ok': ok,
        'dark': dark,
        'job_remote_id': job,
        'job_created': pg_ts(at),
        'job_template_name': 'tpl',
        'organization_name': org,
    }


def csv_bytes(columns: list[str], rows: Iterable[dict[str, Any]]) -> bytes:
    lines = [','.join(columns)]
    lines += [','.join(pg_field(row.get(c), c in TEXT_COLUMNS) for c in columns) for row in rows]
    return ('\n'.join(lines) + '\n').encode('utf-8')


def tarball_name(install_uuid: str, since: datetime, until: datetime, index: int, key: str | None) -> str:
    base = f'{install_uuid}-{stamp(since)}-{stamp(until)}-{index}'
    return f'{base}.tar.gz' if key is None else f'{base}-{key}.tar.gz'


def write_tarball(
    base: Path,
    *,
    key: str,
    rows: Iterable[dict[str, Any]],
    since: datetime,
    until: datetime,
    install_uuid: str = INSTALL_UUID,
    index: int = 0,
    name_key: str | None = '',
    status: str = 'ok',
    config: dict[str, Any] | None = None,
) -> Path:
    """Write one package as `<base>/data/YYYY/MM/DD/<name>` and return its path.

    `name_key` '' names the tarball after `key`; None omits the suffix (releases ≤0.6.0); 'unknown' or 'config'
    mimic the other historical names.
    """
    members: list[tuple[str, bytes]] = [(f'./{key}.csv', csv_bytes(COLUMNS[key], rows))]
    cfg = config if config is not None else {'install_uuid': install_uuid, 'controller_version': '4.6.8'}
    members.append(('./config.json', json.dumps(cfg).encode()))
    status_row = {
        'collection_start_timestamp': str(until + timedelta(minutes=5)),
        'since': str(since),
        'until': str(until),
        'file_name': f'{key}.csv',
        'status': status,
        'elapsed': 1,
    }
    members.append(('./data_collection_status.csv', csv_bytes(STATUS, [status_row])))
    manifest = {f'{key}.csv': VERSIONS[key], 'config.json': '2.0', 'data_collection_status.csv': '1.0'}
    members.append(('./manifest.json', json.dumps(manifest).encode()))
    folder = base / 'data' / since.strftime('%Y/%m/%d')
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tarball_name(install_uuid, since, until, index, key if name_key == '' else name_key)
    with tarfile.open(path, 'w:gz', compresslevel=1) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(until.timestamp())
            tar.addfile(info, io.BytesIO(data))
    return path


# -- a seeded synthetic month ------------------------------------------------------------------------------------------

MODULES = [  # (task_action, resolved_action, resolved_role)
    ('yum', 'ansible.builtin.dnf', ''),
    ('ansible.builtin.template', 'ansible.builtin.template', 'webserver'),
    ('service', 'ansible.builtin.systemd_service', ''),
    ('redhat.rhel_system_roles.timesync', 'redhat.rhel_system_roles.timesync', 'redhat.rhel_system_roles.timesync'),
    ('ios_command', 'cisco.ios.ios_command', ''),
    ('my_local_module', '', ''),
    ('community.general.a.b.deep', 'community.general.a.b.deep', 'acme.tools.hardening'),
    ('ping', 'ansible.builtin.ping', ''),
]
RESULT_EVENTS = ['runner_on_ok', 'runner_on_ok', 'runner_on_failed', 'runner_on_skipped', 'runner_item_on_ok']


@dataclass
class SynthHost:
    name: str
    remote_id: int | None  # None: deleted host (the summary keeps only the name)
    ansible_host: str | None
    org: str | None
    org_id: int | None
    inventory: str
    inventory_id: int
    serial: str | None = None
    machine_id: str | None = None


@dataclass
class SyntheticData:
    """Rows per (day, key), kept in memory so tests can compute expectations with plain Python."""

    days: list[date]
    rows: dict[tuple[date, str], list[dict[str, Any]]] = field(default_factory=dict)
    hosts: list[SynthHost] = field(default_factory=list)
    install_uuid: str = INSTALL_UUID

    def all(self, key: str) -> Iterator[dict[str, Any]]:
        for (_, k), rows in sorted(self.rows.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            if k == key:
                yield from rows

    def write(self, base: Path, keys: Iterable[str] | None = None) -> list[Path]:
        paths = []
        for (day, key), rows in sorted(self.rows.items()):
            if keys is not None and key not in keys:
                continue
            since = datetime(day.year, day.month, day.day, tzinfo=UTC)
            paths.append(
                write_tarball(
                    base,
                    key=key,
                    rows=rows,
                    since=since,
                    until=since + timedelta(days=1),
                    install_uuid=self.install_uuid,
                )
            )
        return paths


def synthetic(
    first_day: date,
    days: int,
    *,
    jobs_per_day: int = 6,
    hosts: int = 40,
    hosts_per_job: int = 8,
    events_per_host: int = 3,
    seed: int = 5,
    indirect: bool = True,
    install_uuid: str = INSTALL_UUID,
) -> SyntheticData:
    """Jobs over `days` days with the awkward cases reports must get right.

    Included: ansible_host shared by two hosts (one identity), names differing only in case, a host name repeated in
    two organizations, deleted hosts (no remote id), unreachable-only results, jobs without organization, jobs
    starting before midnight, modules with 2/3/4-part names and roles, indirect audit rows, daily inventory snapshots.
    """
    rng = random.Random(seed)
    orgs = [('Default', 1), ('Zürich Netzwerk', 2), ('Acme, Inc.', 3)]
    pool: list[SynthHost] = []
    for i in range(hosts):
        org_name, org_id = orgs[i % len(orgs)]
        name = f'host{i:05d}.example.com'
        ansible_host = f'10.0.{i // 250}.{i % 250}' if i % 3 == 0 else None
        pool.append(
            SynthHost(
                name,
                1000 + i,
                ansible_host,
                org_name,
                org_id,
                f'{org_name} inv',
                100 + org_id,
                serial=f'SER-{i // 2:05d}' if i % 5 == 0 else None,
                machine_id=f'mid-{i:05d}' if i % 5 == 0 else None,
            )
        )
    if hosts >= 6:  # the awkward cast
        pool[1].ansible_host = pool[0].ansible_host or '10.9.0.1'
        pool[0].ansible_host = pool[1].ansible_host  # hosts 0 and 1: same machine, two inventory entries
        pool[2].name = pool[4].name.upper()  # differs only in case from host 4
        pool[5].name = pool[3].name  # same name in another organization
        pool[5].org, pool[5].org_id, pool[5].inventory = orgs[2][0], orgs[2][1], 'Acme, Inc. inv'
        pool[5].ansible_host = None
        pool[3].ansible_host = None
    data = SyntheticData([first_day + timedelta(days=d) for d in range(days)], hosts=pool, install_uuid=install_uuid)
    jhs_id = event_id = job_id = audit_id = 0
    by_org: dict[str | None, list[SynthHost]] = {}
    for host in pool:
        by_org.setdefault(host.org, []).append(host)
    templates = {org: [f'{org} deploy', f'{org} check'] for org, _ in orgs}
    for day in data.days:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        jhs_rows: list[dict[str, Any]] = []
        event_rows: list[dict[str, Any]] = []
        audit_rows: list[dict[str, Any]] = []
        for j in range(jobs_per_day):
            job_id += 1
            org_name, org_id = orgs[j % len(orgs)]
            no_org = j % 7 == 6
            template = templates[org_name][j % 2]
            job_created = start + timedelta(seconds=rng.randint(0, 86_000)) - timedelta(minutes=30 if j == 0 else 0)
            members = rng.sample(by_org[org_name], min(hosts_per_job, len(by_org[org_name])))
            for host in members:
                jhs_id += 1
                modified = max(start, job_created) + timedelta(seconds=rng.randint(1, 300))
                modified = min(modified, start + timedelta(days=1) - timedelta(microseconds=1))
                unreachable = rng.random() < 0.08
                ok, failures, skipped, ignored, rescued = (
                    (0, 0, 0, 0, 0)
                    if unreachable
                    else (rng.randint(0, 9), rng.randint(0, 1), rng.randint(0, 3), rng.randint(0, 1), rng.randint(0, 1))
                )
                if not unreachable and ok + failures + skipped + ignored + rescued == 0:
                    ok = 1
                dark = 1 if unreachable or rng.random() < 0.05 else 0
                deleted = host.remote_id is not None and rng.random() < 0.05
                jhs_rows.append(
                    {
                        'id': jhs_id,
                        'created': pg_ts(modified),
                        'modified': pg_ts(modified),
                        'host_name': host.name,
                        'host_remote_id': None if deleted else host.remote_id,
                        'ansible_host_variable': None if deleted else host.ansible_host,
                        'ansible_connection_variable': 'ssh',
                        'changed': rng.randint(0, ok) if ok else 0,
                        'dark': dark,
                        'failures': failures,
                        'ok': ok,
                        'processed': 1,
                        'skipped': skipped,
                        'failed': pg_bool(failures > 0),
                        'ignored': ignored,
                        'rescued': rescued,
                        'job_created': pg_ts(job_created),
                        'job_remote_id': job_id,
                        'job_template_remote_id': 50 + j % 2,
                        'job_template_name': template,
                        'inventory_remote_id': host.inventory_id,
                        'inventory_name': host.inventory,
                        'organization_remote_id': None if no_org else org_id,
                        'organization_name': None if no_org else org_name,
                        'project_remote_id': 7,
                        'project_name': 'playbooks',
                    }
                )
                for _ in range(0 if unreachable else events_per_host):
                    event_id += 1
                    task_action, resolved, role = MODULES[rng.randrange(len(MODULES))]
                    event_rows.append(
                        {
                            'main_jobhostsummary_id': jhs_id,
                            'main_jobhostsummary_created': pg_ts(modified),
                            'id': event_id,
                            'created': pg_ts(modified),
                            'modified': pg_ts(modified),
                            'job_created': pg_ts(job_created),
                            'event': rng.choice(RESULT_EVENTS),
                            'task_action': task_action,
                            'resolved_action': resolved or None,
                            'resolved_role': role or None,
                            'duration': f'{rng.randint(1, 5000) / 1000:.3f}',
                            'failed': 'f',
                            'changed': 't',
                            'playbook': 'site.yml',
                            'play': 'all',
                            'task': task_action,
                            'role': role.rsplit('.', 1)[-1] if role else None,
                            'job_remote_id': job_id,
                            'host_remote_id': None if deleted else host.remote_id,
                            'host_name': host.name,
                        }
                    )
            if indirect and j % 3 == 1:
                for vm in rng.sample(range(30), 3):
                    audit_id += 1
                    name = f'vm-{vm:03d}.vcenter.example.com'
                    facts = {'device_type': 'virtual_machine', 'infra_type': 'PrivateCloud', 'infra_bucket': 'vmware'}
                    audit_rows.append(
                        {
                            'id': audit_id,
                            'created': pg_ts(job_created + timedelta(minutes=5)),
                            'host_name': name,
                            'host_remote_id': None,
                            'canonical_facts': json.dumps({'fqdn': name, 'moid': f'vm-{vm}'}),
                            'facts': json.dumps(facts),
                            'events': json.dumps(['vmware.vmware_rest.vcenter_vm_info']),
                            'task_runs': rng.randint(1, 4),
                            'job_created': pg_ts(job_created),
                            'job_remote_id': job_id,
                            'job_template_remote_id': 50 + j % 2,
                            'job_template_name': template,
                            'inventory_remote_id': 101,
                            'inventory_name': 'vcenter',
                            'organization_remote_id': org_id,
                            'organization_name': org_name,
                            'project_remote_id': 7,
                            'project_name': 'playbooks',
                        }
                    )
        data.rows[(day, 'job_host_summary')] = jhs_rows
        data.rows[(day, 'main_jobevent')] = event_rows
        if indirect:
            data.rows[(day, 'main_indirectmanagednodeaudit')] = audit_rows
        data.rows[(day, 'main_host')] = [_host_row(h, start) for h in pool if h.remote_id is not None]
    return data


def _host_row(host: SynthHost, day_start: datetime) -> dict[str, Any]:
    canonical = {
        'ansible_product_serial': host.serial,
        'ansible_machine_id': host.machine_id,
        'ansible_host': host.ansible_host,
        'host_name': host.name,
        'ansible_port': 22,
    }
    return {
        'host_name': host.name,
        'host_id': host.remote_id,
        'inventory_remote_id': host.inventory_id,
        'inventory_name': host.inventory,
        'organization_remote_id': host.org_id,
        'organization_name': host.org,
        'last_automation': pg_ts(day_start + timedelta(hours=20)),
        'first_automation': pg_ts(day_start - timedelta(days=90)),
        'ansible_host_variable': host.ansible_host,
        'canonical_facts': json.dumps({k: v for k, v in canonical.items() if v is not None}),
        'facts': json.dumps({'ansible_connection_variable': 'ssh', 'architecture': 'x86_64'}),
    }


# -- streamed scales for the report benchmark --------------------------------------------------------------------------

EVENTS_PER_PACKAGE = 1_000_000  # a gather splits a day's events over several packages (200 MiB raw each)


def write_scaled_day(
    base: Path,
    day: date,
    *,
    summaries: int,
    events: int,
    hosts: int = 15_000,
    hosts_per_job: int = 50,
    seed: int = 0,
    install_uuid: str = INSTALL_UUID,
    first_id: int = 0,
) -> tuple[int, int]:
    """One day of `summaries` job host summaries and about `events` result events, written as packages while the
    rows are made (memory stays flat however large the day). Same CSV shape as `synthetic`; unreachable summaries
    have no events, 1/3 of the hosts have an `ansible_host`, modules follow `MODULES`. Returns (summaries, events)
    written; ids start after `first_id` so several days never share an id."""
    rng = random.Random(seed)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    per_summary = events / max(summaries, 1) / 0.92  # unreachable summaries (8 %) have none
    orgs = [('Default', 1), ('Zürich Netzwerk', 2), ('Acme, Inc.', 3)]
    modules = [
        (pg_field(t), pg_field(r or None), pg_field(role or None), pg_field(role.rsplit('.', 1)[-1] if role else None))
        for t, r, role in MODULES
    ]
    tmp = base / '.scaled'
    tmp.mkdir(parents=True, exist_ok=True)
    jhs_path, written_jhs, written_events = tmp / 'job_host_summary.csv', 0, 0
    event_files: list[Path] = []
    event_out = None
    with open(jhs_path, 'w', encoding='utf-8', newline='') as jhs:
        jhs.write(','.join(JOB_HOST_SUMMARY) + '\n')
        job = first_id // hosts_per_job
        while written_jhs < summaries:
            job += 1
            org_name, org_id = orgs[job % 3]
            template = pg_field(f'{org_name} deploy')
            created = start + timedelta(seconds=rng.randint(0, 86_000))
            job_created = pg_ts(created)
            stamp_ = pg_ts(created + timedelta(seconds=rng.randint(1, 300)))
            for _ in range(min(hosts_per_job, summaries - written_jhs)):
                written_jhs += 1
                sid = first_id + written_jhs
                h = rng.randrange(hosts)
                name = f'host{h:06d}.example.com'
                ansible_host = f'10.{h // 62500}.{h // 250 % 250}.{h % 250}' if h % 3 == 0 else ''
                unreachable = rng.random() < 0.08
                ok = 0 if unreachable else rng.randint(1, 9)
                jhs.write(
                    f'{sid},{stamp_},{stamp_},{name},{1000 + h},{ansible_host},ssh,0,{int(unreachable)},0,{ok},1,0,f,'
                    f'0,0,{job_created},{job},51,{template},{100 + org_id},{pg_field(org_name + " inv")},{org_id},'
                    f'{pg_field(org_name)},7,playbooks\n'
                )
                if unreachable:
                    continue
                count = int(per_summary) + (rng.random() < per_summary % 1)
                for _ in range(count):
                    if event_out is None or written_events % EVENTS_PER_PACKAGE == 0:
                        if event_out is not None:
                            event_out.close()
                        event_files.append(tmp / f'main_jobevent-{len(event_files)}.csv')
                        event_out = open(event_files[-1], 'w', encoding='utf-8', newline='')  # noqa: SIM115
                        event_out.write(','.join(MAIN_JOBEVENT) + '\n')
                    written_events += 1
                    task, resolved, role, short = modules[rng.randrange(len(modules))]
                    event_out.write(
                        f'{sid},{stamp_},{first_id * 20 + written_events},{stamp_},{stamp_},{job_created},'
                        f'runner_on_ok,{task},{resolved},{role},{rng.randint(1, 5000) / 1000:.3f},f,t,site.yml,all,'
                        f'{task},{short},{job},{1000 + h},{name}\n'
                    )
    if event_out is not None:
        event_out.close()
    since = start
    _package(base, jhs_path, 'job_host_summary', since, since + timedelta(days=1), install_uuid, 0)
    for index, path in enumerate(event_files):
        _package(base, path, 'main_jobevent', since, since + timedelta(days=1), install_uuid, index)
    return written_jhs, written_events


def _package(base: Path, csv_path: Path, key: str, since: datetime, until: datetime, install: str, index: int) -> None:
    """A package holding the CSV file `csv_path` (removed afterwards), as `write_tarball` lays it out."""
    status = {'collection_start_timestamp': str(until), 'since': str(since), 'until': str(until)}
    status |= {'file_name': f'{key}.csv', 'status': 'ok', 'elapsed': 1}
    manifest = {f'{key}.csv': VERSIONS[key], 'config.json': '2.0', 'data_collection_status.csv': '1.0'}
    members = [
        ('./config.json', json.dumps({'install_uuid': install, 'controller_version': '4.6.8'}).encode()),
        ('./data_collection_status.csv', csv_bytes(STATUS, [status])),
        ('./manifest.json', json.dumps(manifest).encode()),
    ]
    folder = base / 'data' / since.strftime('%Y/%m/%d')
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / tarball_name(install, since, until, index, key), 'w:gz', compresslevel=1) as tar:
        tar.add(csv_path, arcname=f'./{key}.csv')
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    csv_path.unlink()
