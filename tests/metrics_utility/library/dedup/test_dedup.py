"""Deduplication modes on small hand-made frames."""

import pandas as pd
import pytest

from metrics_utility.library.dedup import apply, deduplicate, group_ids, identity_map

pytestmark = pytest.mark.unit
T = pd.Timestamp


def _direct(*rows):
    return pd.DataFrame(rows, columns=['host_name', 'last_automation'])


def _scope(*rows):
    return pd.DataFrame(rows, columns=['host_name', 'serial', 'first_automation', 'last_automation'])


def test_ccsp_is_exact_string_identity():
    assert identity_map('ccsp', _direct(('Web01', T('2024-02-01')), ('web01', T('2024-02-02'))), _scope()) == {}


def test_case_insensitive_merges_under_the_latest_spelling():
    direct = _direct(('WEB01', T('2024-02-03', tz='UTC')), ('web01', T('2024-02-02', tz='UTC')), ('db', None))
    mapping = identity_map('ccsp-case-insensitive', direct, _scope())
    assert mapping == {'web01': 'WEB01'}
    frame = apply(pd.DataFrame({'host_name': ['web01', 'db']}), mapping)
    assert frame['host_name'].tolist() == ['WEB01', 'db']
    assert frame['host_name_before_dedup'].tolist() == ['web01', 'db']


def test_experimental_merges_by_serial_under_first_seen():
    scope = _scope(
        ('b', 'S1/m1', T('2024-01-02'), None), ('a', 'S1/m1', T('2024-01-01'), None), ('c', None, T('2023-01-01'), None)
    )
    assert identity_map('ccsp-experimental', _direct(), scope) == {'b': 'a'}


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match='expected one of'):
        identity_map('nope', _direct(), _scope())


def _metrics():
    return pd.DataFrame(
        {
            'hostname': ['a', 'b', 'c', 'd', 'e'],
            'ansible_host_variable': ['10.0.0.1', '10.0.0.1', 'NA', None, ''],
            'ansible_product_serial': ['S1', None, 'S2', 'S2', 'S3'],
            'ansible_machine_id': [None, 'm1', 'm2', 'm2', 'm9'],
            'first_automation': [T('2024-01-01')] * 5,
            'last_automation': [T(f'2024-02-0{i}') for i in range(1, 6)],
            'automated_counter': [1, 2, 3, 4, 5],
            'deleted_counter': [0, 0, 0, 1, 0],
            'last_deleted': [None] * 5,
            'deleted': [False, False, False, True, False],
        }
    )


def test_renewal_modes_group_as_defined():
    frame = _metrics()
    assert len(set(group_ids(frame, 'renewal'))) == 3  # a+b (ansible_host), c+d (serial), e
    assert len(set(group_ids(frame, 'renewal-hostname'))) == 4  # a+b share ansible_host; c is 'NA', d and e by name
    assert len(set(group_ids(frame, 'renewal-experimental'))) == 4  # c+d share S2/m2


def test_renewal_output_uses_latest_active_hostname():
    out = deduplicate(_metrics(), 'renewal')
    row = out[out['hostnames'] == 'c, d'].iloc[0]
    assert row['host_name'] == 'c'  # d is newer but deleted
    assert (row['records_total'], row['records_active'], row['records_deleted']) == (2, 1, 1)
    assert row['automated_counter'] == 7
    assert out[out['hostnames'] == 'a, b'].iloc[0]['host_name'] == 'b'
