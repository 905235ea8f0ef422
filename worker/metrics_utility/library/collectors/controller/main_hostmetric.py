"""`main_hostmetric` (v1.1, csv): AWX's per-hostname automation counters, the source of renewal guidance.

Window: `last_automation` in `[since, until)` OR `last_deleted` in `[since, until)`. Joined to `main_host` by exact
name, so a name present in several inventories gives one row per host (`host_id` 0 when none matches), as
metrics-utility does. Ordered by hostname, host_id.

Columns (as metrics-utility 1.1): hostname, host_id, first_automation, last_automation, automated_counter,
deleted_counter, last_deleted, deleted, id, used_in_inventories, ansible_product_serial, ansible_machine_id,
ansible_host_variable, ansible_connection_variable.

Differences: host variables parsed once per host in Python (`hostvars`), while the server runs the COPY
(`host_columns.Splice`; the look-up reads every host while `main_host` is small); COPY streams the whole result (no
keyset pages needed: memory stays flat either way).
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from ..base import Files
from . import window
from .csv_export import CsvRun, csv_collector
from .host_columns import HostVariables, Splice, hosts_in_scope

HOSTS = """
SELECT DISTINCT h.id, h.variables
FROM main_hostmetric m JOIN main_host h ON h.name = m.hostname
WHERE {where}
"""

QUERY = """
SELECT
    m.hostname, COALESCE(h.id, 0) AS host_id, m.first_automation, m.last_automation, m.automated_counter,
    m.deleted_counter, m.last_deleted, m.deleted, m.id, m.used_in_inventories,
    h.ansible_facts ->> 'ansible_product_serial' AS ansible_product_serial,
    h.ansible_facts ->> 'ansible_machine_id' AS ansible_machine_id,
    {host_columns}
FROM main_hostmetric m
LEFT JOIN main_host h ON h.name = m.hostname
WHERE {where}
ORDER BY m.hostname, COALESCE(h.id, 0)
"""

HOST_COLUMNS = Splice(
    'h.id', (('ansible_host_variable', 'ansible_host'), ('ansible_connection_variable', 'ansible_connection'))
)


@csv_collector('main_hostmetric', '1.1', kind='windowed')
def main_hostmetric(run: CsvRun) -> list[Path]:
    """Host metrics automated or deleted in the window."""
    where = sql.SQL('({} OR {})').format(window.condition('m.last_automation'), window.condition('m.last_deleted'))
    params = run.window_params()
    query = sql.SQL(QUERY).format(host_columns=HOST_COLUMNS.select(), where=where)
    hosts = HostVariables(run.db, hosts_in_scope(run.db, sql.SQL(HOSTS).format(where=where)), params)
    splice = HOST_COLUMNS.rows(hosts, run.db.info.encoding)  # parses in the background from here on
    return Files(run.copy(query, params, rewrite=splice), splice.unreadable)
