"""Host identity from inventory host variables: `ansible_host`, `ansible_connection`, `ansible_port`.

`main_host.variables` is free text holding YAML or JSON. Billing identity is the top-level `ansible_host` *as those
formats define it*: quotes removed, comments ignored, nested keys not counted, broken documents giving nothing. No
SQL expression can do that on PostgreSQL 15 without creating functions (there is no `pg_input_is_valid`, and a
regular expression cannot validate JSON or YAML), and metrics-utility's line regex miscounts quoted values and
trailing comments. So the text is parsed here, in Python, the way AWX reads it (`json.loads`, else YAML with
libyaml's safe loader), **once per distinct host** of the collected window:

1. `fetch` streams `(id, variables)` of the hosts a collector needs through a server-side cursor and keeps only the
   three small results per host;
2. `join_clause` hands those results back to the server as three literal arrays in the COPY statement
   (`unnest(...) AS hv(host_id, ansible_host, ansible_connection, ansible_port)`), which the query LEFT JOINs.

The database only reads; the COPY output stays a single server-side stream. A document that is not a mapping, or
does not parse, yields no values (and never fails the collector); NUL characters are dropped and lone surrogates
become `?`, because PostgreSQL text cannot hold them. Scalars are rendered as PostgreSQL's `->>` would
render the JSON value (`true`, `22`, `1.5`); a mapping or list under `ansible_host` is not an address and yields
nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
import yaml
from psycopg import sql

_Loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
FETCH_BATCH = 5000


@dataclass(frozen=True)
class HostVars:
    """What the collectors export from one host's variables."""

    ansible_host: str | None = None
    ansible_connection: str | None = None
    ansible_port: int | None = None


NOTHING = HostVars()


# The common shape of inventory YAML: `key: value` lines of plain scalars (`ansible_host: 10.0.0.5`), optionally after
# `---`. For exactly that shape the mapping is built directly (libyaml costs ~20 us a document, most of a collector's
# host work); anything else, including comments, quotes, indentation and flow syntax, goes to the real parser.
_SIMPLE_LINE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*):[ ]+([A-Za-z0-9][A-Za-z0-9./-]*)[ ]*')
_RESOLVER = yaml.resolver.Resolver()
_STR = 'tag:yaml.org,2002:str'
_INT = 'tag:yaml.org,2002:int'


# YAML 1.1 plain scalars that start with a letter are strings unless they are one of these words; and no number,
# date or time has two dots (so IP addresses are strings). Everything else asks PyYAML's own resolver.
_WORDS = frozenset({
    'yes', 'Yes', 'YES', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
    'on', 'On', 'ON', 'off', 'Off', 'OFF', 'null', 'Null', 'NULL',
})  # fmt: skip


def _plain_tag(value: str) -> str:
    if value[0].isalpha() or value[0] == '_':
        return _STR if value not in _WORDS else _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    if value.count('.') >= 2:
        return _STR
    return _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))


def _simple_yaml(text: str) -> dict[str, Any] | None:
    """The mapping of a document made only of simple `key: scalar` lines, or None when it is anything else."""
    result: dict[str, Any] = {}
    for number, line in enumerate(text.split('\n')):
        if not line or (number == 0 and line == '---'):
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        if _plain_tag(match[1]) != _STR:
            return None  # a key such as `yes` or `null` is not a string in YAML 1.1
        value = match[2]
        tag = _plain_tag(value)
        if tag == _STR:
            result[match[1]] = value
        elif tag == _INT and (value == '0' or (value[0] != '0' and value.isdigit())):
            result[match[1]] = int(value)
        else:
            return None  # floats, booleans, dates, octal/hex ints: let libyaml decide
    return result or None


def parse_variables(text: str | None) -> Mapping[str, Any] | None:
    """The top-level mapping of a YAML or JSON document, or None when it is empty, broken or not a mapping."""
    if not text or not text.strip():
        return None
    if text[0] not in '{[' and (simple := _simple_yaml(text)) is not None:
        return simple
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = yaml.load(text, Loader=_Loader)  # CSafeLoader: no arbitrary objects
        except (yaml.YAMLError, ValueError, TypeError, RecursionError):
            return None
    return value if isinstance(value, Mapping) else None


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, Mapping | list | tuple | set):
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return _text(str(value))


def _text(value: str) -> str | None:
    """PostgreSQL text cannot hold NUL or lone surrogates (JSON can escape both): drop NULs, replace surrogates."""
    value = value.replace('\x00', '')
    if not value.isascii():
        value = value.encode('utf-8', 'replace').decode('utf-8')
    return value or None


def _port(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 2_147_483_647 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def host_vars(text: str | None) -> HostVars:
    """`HostVars` of one `main_host.variables` text."""
    data = parse_variables(text)
    if not data:
        return NOTHING
    return HostVars(_scalar(data.get('ansible_host')), _scalar(data.get('ansible_connection')),
                    _port(data.get('ansible_port')))  # fmt: skip


def fetch(db: psycopg.Connection, hosts_query: sql.Composable, params: Any = None) -> dict[int, HostVars]:
    """Parse the variables of every host `hosts_query` returns (columns `id, variables`, one row per host).

    Hosts without any of the three values are left out: the LEFT JOIN gives them NULLs anyway.
    """
    result: dict[int, HostVars] = {}
    with db.cursor(name='metrics_utility_host_variables') as cur:
        cur.itersize = FETCH_BATCH
        cur.execute(hosts_query, params)
        for host_id, text in cur:
            found = host_vars(text)
            if found != NOTHING:
                result[host_id] = found
    return result


def join_clause(found: Mapping[int, HostVars]) -> tuple[sql.Composable, dict[str, list]]:
    """`unnest(...) AS hv(host_id, ansible_host, ansible_connection, ansible_port)` and its parameters."""
    ids = list(found)
    params = {
        'hv_ids': ids,
        'hv_hosts': [found[i].ansible_host for i in ids],
        'hv_connections': [found[i].ansible_connection for i in ids],
        'hv_ports': [found[i].ansible_port for i in ids],
    }
    clause = sql.SQL(
        'unnest(%(hv_ids)s::integer[], %(hv_hosts)s::text[], %(hv_connections)s::text[], %(hv_ports)s::integer[]) '
        'AS hv(host_id, ansible_host, ansible_connection, ansible_port)'
    )
    return clause, params
