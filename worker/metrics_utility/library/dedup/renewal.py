"""Renewal-guidance deduplication of host metric rows (docs/reports.md, RENEWAL_GUIDANCE).

`renewal`: rows sharing a hostname, ansible_host, product serial or machine id are one machine (transitively:
a chain of shared keys merges, where metrics-utility stops after REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS hops).
`renewal-hostname`: group by ansible_host, else hostname. `renewal-experimental`: hostname groups, then groups
sharing a compound `serial/machine_id` merge. A serial or machine id of 'NA' (Ansible's "not available" fact
value), 'None', 'nan' or blank counts as missing; a hostname or ansible_host is any non-blank string, exactly
(a host may be named `NA`: docs/reports.md, "Identities are exact strings").
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

RENEWAL_MODES = ('renewal', 'renewal-hostname', 'renewal-experimental')
_MISSING = {'', 'NA', 'None', 'nan'}


def _value(v: object) -> str | None:
    """A serial or machine id fact, or None when the fact says it is not known."""
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    text = str(v).strip()
    return None if text in _MISSING else text


def _identity(v: object) -> str | None:
    """A hostname or ansible_host: the exact string, or None when missing or blank."""
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    text = str(v)
    return text if text.strip() else None


class _Groups:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_ids(frame: pd.DataFrame, mode: str) -> list[int]:
    """A group number per row of a host metric frame."""
    if mode not in RENEWAL_MODES:
        raise ValueError(f'unknown renewal deduplicator {mode!r}; expected one of {", ".join(RENEWAL_MODES)}')
    n = len(frame)
    groups = _Groups(n)
    hostname = [_identity(v) for v in frame['hostname']]
    ansible = [_identity(v) for v in frame['ansible_host_variable']]
    serial = [_value(v) for v in frame['ansible_product_serial']]
    machine = [_value(v) for v in frame['ansible_machine_id']]
    if mode == 'renewal':
        keys = [('h', hostname), ('h', ansible), ('s', serial), ('m', machine)]  # hostname and ansible_host mix
    elif mode == 'renewal-hostname':
        keys = [('h', [a or h for a, h in zip(ansible, hostname, strict=True)])]
    else:
        compound = [f'{s}/{m}' if s and m else None for s, m in zip(serial, machine, strict=True)]
        keys = [('h', hostname), ('c', compound)]
    first: dict[tuple[str, str], int] = {}
    for kind, values in keys:
        for i, value in enumerate(values):
            if value is None:
                continue
            j = first.setdefault((kind, value), i)
            groups.union(i, j)
    return [groups.find(i) for i in range(n)]


def _join(values: pd.Series, value: Callable[[object], str | None] = _value) -> str:
    return ', '.join(sorted({v for v in (value(x) for x in values) if v}))


def deduplicate(frame: pd.DataFrame, mode: str) -> pd.DataFrame:
    """One row per machine with the renewal-guidance columns; `host_name` is the latest non-deleted hostname."""
    columns = [
        'host_name',
        'first_automation',
        'last_automation',
        'automated_counter',
        'deleted_counter',
        'last_deleted',
        'deleted',
        'records_total',
        'records_active',
        'records_deleted',
        'hostnames',
        'ansible_hosts',
        'serials',
        'machine_ids',
    ]
    if frame.empty:
        return pd.DataFrame({c: [] for c in columns})
    frame = frame.assign(_group=group_ids(frame.reset_index(drop=True), mode) if len(frame) else [])
    frame['deleted'] = frame['deleted'].fillna(False).astype(bool)
    ordered = frame.sort_values(['deleted', 'last_automation'], ascending=[True, False], kind='stable')
    rows = []
    for _, g in ordered.groupby('_group', sort=False):
        rows.append(
            {
                'host_name': g['hostname'].iloc[0],
                'first_automation': g['first_automation'].min(),
                'last_automation': g['last_automation'].max(),
                'automated_counter': int(g['automated_counter'].fillna(0).sum()),
                'deleted_counter': int(g['deleted_counter'].fillna(0).sum()),
                'last_deleted': g['last_deleted'].max(),
                'deleted': bool(g['deleted'].all()),
                'records_total': len(g),
                'records_active': int((~g['deleted']).sum()),
                'records_deleted': int(g['deleted'].sum()),
                'hostnames': _join(g['hostname'], _identity),
                'ansible_hosts': _join(g['ansible_host_variable'], _identity),
                'serials': _join(g['ansible_product_serial']),
                'machine_ids': _join(g['ansible_machine_id']),
            }
        )
    return pd.DataFrame(rows, columns=columns).sort_values('host_name', kind='stable', ignore_index=True)
