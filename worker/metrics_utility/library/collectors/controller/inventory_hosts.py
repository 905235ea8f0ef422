"""The host inventory query shared by `main_host` (snapshot) and `main_host_daily` (hosts created/modified in a window).

Columns (as metrics-utility 1.1): host_name, host_id, inventory_remote_id, inventory_name, organization_remote_id,
organization_name, last_automation (the `created` of the job of the host's latest summary), first_automation (from
`main_hostmetric` by host name), ansible_host_variable, canonical_facts (JSON: ansible_product_serial,
ansible_machine_id, ansible_host, host_name, ansible_port — an integer or null) and facts (JSON:
ansible_connection_variable and nine `ansible_*` hardware/virtualisation facts). Ordered by host id.

Host variables are parsed once per host in Python (`hostvars`) and joined back as arrays (`host_columns.join_clause`,
since the JSON columns use them), not by PL/pgSQL functions created in the controller database; `ansible_port` is an
integer only when the variables hold a whole number (a quoted "22" counts). Hosts whose variables cannot be read get
NULLs there and are counted (`Files.unreadable`, one row per host).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg import sql

from ..base import Files
from . import host_columns
from .csv_export import CsvRun

FACTS = (
    'ansible_virtualization_type',
    'ansible_virtualization_role',
    'ansible_system_vendor',
    'ansible_product_name',
    'ansible_architecture',
    'ansible_processor',
    'ansible_form_factor',
    'ansible_bios_vendor',
    'ansible_bios_version',
    'ansible_board_serial',
)

HOSTS = 'SELECT h.id, h.variables FROM main_host h WHERE {where}'

QUERY = """
SELECT
    h.name AS host_name, h.id AS host_id,
    i.id AS inventory_remote_id, i.name AS inventory_name,
    o.id AS organization_remote_id, o.name AS organization_name,
    latest.created AS last_automation, hm.first_automation,
    hv.ansible_host AS ansible_host_variable,
    jsonb_build_object(
        'ansible_product_serial', h.ansible_facts ->> 'ansible_product_serial',
        'ansible_machine_id', h.ansible_facts ->> 'ansible_machine_id',
        'ansible_host', hv.ansible_host,
        'host_name', h.name,
        'ansible_port', hv.ansible_port
    ) AS canonical_facts,
    jsonb_build_object('ansible_connection_variable', hv.ansible_connection, {facts}) AS facts
FROM main_host h
LEFT JOIN main_inventory i ON i.id = h.inventory_id
LEFT JOIN main_organization o ON o.id = i.organization_id
LEFT JOIN LATERAL (
    SELECT u.created FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
    WHERE s.host_id = h.id ORDER BY s.id DESC LIMIT 1
) latest ON true
LEFT JOIN main_hostmetric hm ON hm.hostname = h.name
LEFT JOIN {hv} ON hv.host_id = h.id
WHERE {where}
ORDER BY h.id
"""


def copy_hosts(run: CsvRun, where: sql.Composable, params: dict[str, Any]) -> list[Path]:
    """The hosts matching `where` into the run's CSV files, with their parsed variables joined back."""
    facts = sql.SQL(', ').join(sql.SQL('{k}, h.ansible_facts ->> {k}').format(k=sql.Literal(name)) for name in FACTS)
    found = host_columns.fetch(run.db, sql.SQL(HOSTS).format(where=where), params)
    hv, hv_params = host_columns.join_clause(found)
    query = sql.SQL(QUERY).format(facts=facts, hv=hv, where=where)
    files = run.copy(query, {**params, **hv_params})
    return Files(files, host_columns.unreadable_count(found) if files else 0)
