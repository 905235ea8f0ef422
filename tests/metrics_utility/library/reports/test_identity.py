"""No identity is lost or mangled between the collector's CSV and the billed figures (docs/reports.md, "Identity").

Each case goes the report's own way — CSV bytes as PostgreSQL writes them → `read_csv` → daily rollups → figures —
and asserts the exact billed quantity and the identities listed. Null tokens come from pyarrow's and pandas' own
defaults; content-usage cases check the managed-node rule on the content sheets.
"""

import functools
from datetime import UTC, date, datetime

import pyarrow.csv as pacsv
import pytest
from pandas._libs.parsers import STR_NA_VALUES

from metrics_utility.library.collectors.controller.hostvars import host_vars
from metrics_utility.library.dataframes import ContentUsage, JobHostSummaryUsage
from metrics_utility.library.extract import read_csv
from metrics_utility.library.reports import figures
from testsupport.report_data import JOB_HOST_SUMMARY, MAIN_JOBEVENT, csv_bytes, summary_row

pytestmark = pytest.mark.unit
NULL_TOKENS = sorted(set(pacsv.ConvertOptions().null_values) | set(STR_NA_VALUES))
DAY = date(2024, 2, 29)
T0 = datetime(2024, 2, 29, 10, tzinfo=UTC)


_summary = functools.partial(summary_row, at=T0, host_id=100)


def _direct(rows):
    rollup = JobHostSummaryUsage()
    rollup.add_csv(read_csv(csv_bytes(JOB_HOST_SUMMARY, rows), 'job_host_summary'), install_uuid='u1', day=DAY)
    return rollup, rollup.group()


@pytest.mark.hostile
@pytest.mark.parametrize('token', NULL_TOKENS, ids=repr)
def test_null_token_host_name_is_billed(token):
    _, direct = _direct([_summary(1, token, 1), _summary(2, 'web01', 1), _summary(3, token, 2)])
    assert figures.quantity(direct) == 2
    nodes = figures.managed_nodes(direct)
    assert nodes[['host_name', 'job_runs']].values.tolist() == sorted([[token, 2], ['web01', 1]])


@pytest.mark.hostile
@pytest.mark.parametrize('token', NULL_TOKENS, ids=repr)
def test_null_token_organization_is_its_own_organization(token):
    _, direct = _direct(
        [_summary(1, 'web01', 1, org=token), _summary(2, 'db01', 2, org='Default'), _summary(3, 'db02', 2, org=None)]
    )
    orgs = figures.organizations(direct, None)
    assert orgs[['organization_name', 'unique_nodes']].values.tolist() == sorted(
        [[token, 1], ['Default', 1], ['No organization name', 1]]
    )


@pytest.mark.hostile
@pytest.mark.parametrize('token', NULL_TOKENS, ids=repr)
def test_null_token_ansible_host_is_the_identity(token):
    _, direct = _direct([_summary(1, 'web01', 1, ansible_host=token), _summary(2, 'web02', 1, ansible_host=token)])
    # '' is blank: it names no machine, so each host counts by its name; any other token is one shared identity
    expected = ['web01', 'web02'] if token == '' else [token]
    assert sorted(figures.managed_nodes(direct)['host_name']) == expected
    assert figures.quantity(direct) == len(expected)


IDENTITIES = [  # (host_name, ansible_host, host_remote_id, billed identity)
    ('web01', ' 10.0.0.1 ', 1, ' 10.0.0.1 '),  # exact string: padding is kept, never trimmed
    ('web01', '10.0.0.1', 1, '10.0.0.1'),
    (' web01 ', None, 1, ' web01 '),
    ('web01', '   ', 1, 'web01'),  # blank ansible_host names nothing: the host name
    ('web01', '\t\n', 1, 'web01'),
    ('web01', 'true', 1, 'true'),  # YAML `ansible_host: yes` exported by the collector as 'true'
    ('web01', '8080', 1, '8080'),  # a number exported as its decimal text
    ('deleted01', None, None, 'deleted01'),  # deleted host, no same-name host in the job's inventory: its name
    ('deleted01', '10.9.9.9', None, '10.9.9.9'),  # deleted host whose same-name host the collector found
    ('Web01', None, 1, 'Web01'),  # case kept (ccsp mode)
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('host', 'ansible_host', 'host_id', 'identity'), IDENTITIES, ids=[f'{h!r}-{a!r}-{i}' for h, a, i, _ in IDENTITIES]
)
def test_identity_is_the_exact_string(host, ansible_host, host_id, identity):
    _, direct = _direct([_summary(1, host, 1, ansible_host=ansible_host, host_id=host_id)])
    assert direct['host_name'].tolist() == [identity]


VARIABLES = [  # (host variables text, billed identity of host 'web01'): docs/reports.md, "ansible_host as text"
    ('ansible_host: yes', 'true'),
    ('ansible_host: no', 'false'),
    ('{"ansible_host": true}', 'true'),
    ('ansible_host: 8080', '8080'),
    ('{"ansible_host": 10}', '10'),
    ('ansible_host: 0x1F', '31'),
    ('ansible_host: 1.5', '1.5'),
    ('ansible_host: 2024-02-29', '2024-02-29'),
    ('ansible_host: 2024-02-29 10:00:00', '2024-02-29T10:00:00'),
    ('ansible_host: [a, b]', 'web01'),
    ('ansible_host: {a: 1}', 'web01'),
    ('ansible_host: null', 'web01'),
    ('ansible_host: ""', 'web01'),
    ('ansible_host: " x "', ' x '),
    ('ansible_host: NA', 'NA'),
    ('ansible_host: \'=HYPERLINK("x")\'', '=HYPERLINK("x")'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('variables', 'identity'), VARIABLES, ids=[v for v, _ in VARIABLES])
def test_non_string_ansible_host_becomes_text(variables, identity):
    _, direct = _direct([_summary(1, 'web01', 1, ansible_host=host_vars(variables).ansible_host)])
    assert direct['host_name'].tolist() == [identity]


def _event(i, host, job, module):
    return {
        'id': i,
        'host_name': host,
        'job_remote_id': job,
        'task_action': module,
        'resolved_action': module,
        'duration': '2.5',
    }


CONTENT = [  # (summaries, events, (unique nodes, non-unique nodes, task runs, duration) of module 'ping')
    ('unreachable-only', [('dark01', 1, 0, 1)], [('dark01', 1)] * 3, (0, 0, 3, 7.5)),
    ('reachable', [('web01', 1, 1, 0)], [('web01', 1)] * 2, (1, 1, 2, 5.0)),
    ('reachable-with-dark', [('web01', 1, 1, 2)], [('web01', 1)], (1, 1, 1, 2.5)),
    ('mixed', [('web01', 1, 1, 0), ('dark01', 1, 0, 1)], [('web01', 1), ('dark01', 1)], (1, 1, 2, 5.0)),
    ('reachable-in-one-job', [('web01', 1, 0, 1), ('web01', 2, 1, 0)], [('web01', 1), ('web01', 2)], (1, 1, 2, 5.0)),
    ('two-jobs-reachable', [('web01', 1, 1, 0), ('web01', 2, 1, 0)], [('web01', 1), ('web01', 2)], (1, 2, 2, 5.0)),
    ('all-unreachable', [('a', 1, 0, 1), ('b', 2, 0, 1)], [('a', 1), ('b', 2)], (0, 0, 2, 5.0)),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('summaries', 'events', 'expected'), [c[1:] for c in CONTENT], ids=[c[0] for c in CONTENT])
def test_content_nodes_only_through_reachable_summaries(summaries, events, expected):
    rollup, _ = _direct([_summary(i, h, j, ok=ok, dark=dark) for i, (h, j, ok, dark) in enumerate(summaries, 1)])
    content = ContentUsage()
    table = read_csv(
        csv_bytes(MAIN_JOBEVENT, [_event(i, h, j, 'ping') for i, (h, j) in enumerate(events, 1)]), 'main_jobevent'
    )
    content.add_csv(table, install_uuid='u1', day=DAY)
    events_frame = content.group_with(rollup.pairs)
    for dimension in ('module_name', 'collection_name', 'role_name'):
        row = figures.content(events_frame, dimension)
        assert row[['unique_nodes', 'non_unique_nodes', 'task_runs', 'duration']].values.tolist() == [list(expected)]
