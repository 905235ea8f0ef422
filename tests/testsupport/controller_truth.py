"""Expected report figures read straight from a synthetic controller database, for the end-to-end tests.

Host identity needs the host's variables parsed; that is done here with `json`/`yaml` on the raw
`main_host.variables` text, independently of the collectors' own parser.
"""

from __future__ import annotations

import json

import yaml

REACHABLE = 's.ok + s.failures + s.skipped + s.ignored + s.rescued > 0'


def identities(conn) -> dict[int, str]:
    """host id → top-level ansible_host, parsed as real JSON or YAML (broken documents give nothing)."""
    found = {}
    for host_id, text in conn.execute('SELECT id, variables FROM main_host'):
        try:
            data = json.loads(text)
        except ValueError:
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                data = None
        if isinstance(data, dict) and isinstance(data.get('ansible_host'), str | int | float):
            found[host_id] = str(data['ansible_host'])
    return found


def reachable_summaries(conn, window: tuple[str, str]) -> list[tuple[str, str, int, str, int]]:
    """The window's reachable host summaries: (identity, organization, job id, template, task runs)."""
    hosts = identities(conn)
    rows = conn.execute(
        f"""
        SELECT s.host_id, s.host_name, coalesce(o.name, 'No organization name'), s.job_id, u.name,
               s.ok + s.failures + s.skipped + s.ignored + s.rescued + s.dark
        FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
        LEFT JOIN main_organization o ON o.id = u.organization_id
        WHERE s.modified >= %s AND s.modified < %s AND {REACHABLE}""",
        window,
    ).fetchall()
    return [
        (hosts.get(host_id) or name, org, job, template, tasks) for host_id, name, org, job, template, tasks in rows
    ]
