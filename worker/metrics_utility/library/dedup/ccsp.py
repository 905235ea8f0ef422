"""CCSP deduplication: which counted identities are the same machine.

`ccsp` keeps the identity as is (ansible_host, else host name: exact strings). `ccsp-case-insensitive` (our opt-in)
also merges identities differing only in letter case, under the most recently automated spelling.
`ccsp-experimental` merges hosts whose inventory snapshot shares `ansible_product_serial/ansible_machine_id`, under
the first-seen host of that serial (metrics-utility's experimental mode).
"""

from __future__ import annotations

import pandas as pd

CCSP_MODES = ('ccsp', 'ccsp-experimental', 'ccsp-case-insensitive')


def identity_map(mode: str, direct: pd.DataFrame, scope: pd.DataFrame) -> dict[str, str]:
    """identity → canonical identity for every identity that changes (an empty dict changes nothing).

    `direct` needs columns host_name and last_automation; `scope` host_name, serial and first_automation.
    """
    if mode == 'ccsp':
        return {}
    if mode == 'ccsp-case-insensitive':
        return _case_insensitive(direct, scope)
    if mode == 'ccsp-experimental':
        return _by_serial(scope)
    raise ValueError(f'unknown CCSP deduplicator {mode!r}; expected one of {", ".join(CCSP_MODES)}')


def _case_insensitive(direct: pd.DataFrame, scope: pd.DataFrame) -> dict[str, str]:
    direct = direct[['host_name', 'last_automation']].astype({'host_name': 'str'})  # categorical → text
    seen = pd.concat([direct, scope[['host_name', 'last_automation']]])
    seen = seen.dropna(subset=['host_name'])
    if seen.empty:
        return {}
    latest = seen.groupby('host_name', sort=True)['last_automation'].max().reset_index()
    latest['key'] = latest['host_name'].str.casefold()
    latest = latest.sort_values(['key', 'last_automation', 'host_name'], na_position='first', kind='stable')
    canonical = latest.groupby('key')['host_name'].last()
    mapped = latest['key'].map(canonical)
    return {h: c for h, c in zip(latest['host_name'], mapped, strict=True) if h != c}


def _by_serial(scope: pd.DataFrame) -> dict[str, str]:
    rows = scope.dropna(subset=['serial', 'host_name'])
    if rows.empty:
        return {}
    rows = rows.sort_values(['first_automation', 'host_name'], na_position='last', kind='stable')
    canonical = rows.groupby('serial', sort=False)['host_name'].first()
    mapped = rows['serial'].map(canonical)
    return {h: c for h, c in zip(rows['host_name'], mapped, strict=True) if h != c}


def apply(frame: pd.DataFrame, mapping: dict[str, str], column: str = 'host_name') -> pd.DataFrame:
    """The frame with identities replaced; the originals are kept in `host_name_before_dedup`."""
    frame = frame.copy()
    frame['host_name_before_dedup'] = frame[column]
    if mapping:
        frame[column] = frame[column].map(lambda h: mapping.get(h, h)).astype('str')
    return frame
