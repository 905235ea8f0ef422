"""Host variables: real YAML/JSON semantics, never an exception."""

from datetime import UTC, datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics_utility.demo.generator import DatasetSpec, plan
from metrics_utility.library.collectors.controller.hostvars import HostVars, _simple_yaml, host_vars, may_hold_keys


def test_every_generated_host_matches_the_generators_answer():
    """The generator's scenario (YAML, quoted + comment + `---`, JSON, nested-only, empty, malformed) and bulk."""
    hosts = plan(DatasetSpec('small', start=datetime(2024, 2, 27, tzinfo=UTC), days=1, seed=3))._gen.hosts
    assert len(hosts) > 100
    for host in hosts:
        assert host_vars(host.variables).ansible_host == host.ansible_host, host.variables


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('ansible_host: 10.0.0.11\nansible_connection: ssh\n', HostVars('10.0.0.11', 'ssh')),
        ('---\nansible_host: "10.0.0.12"  # primary NIC\nansible_port: ssh\n', HostVars('10.0.0.12', unreadable=True)),
        ("ansible_host: 'a#b'  # comment", HostVars('a#b')),
        ('{"ansible_host": "10.0.0.21", "ansible_port": 5432}', HostVars('10.0.0.21', None, 5432)),
        ('{"vars": {"ansible_host": "nested"}, "ansible_connection": "local"}', HostVars(None, 'local')),
        ('group:\n  ansible_host: nested\n', HostVars()),
        ('  ansible_host: root-may-be-indented', HostVars('root-may-be-indented')),  # YAML, unlike a line regex
        ('', HostVars()),
        ('   \n', HostVars()),
        ('{"ansible_host": "10.0.0.32",', HostVars(unreadable=True)),
        ('ansible_host: [10.0.0.33\n\tbad: : indent', HostVars(unreadable=True)),
        ('just a string', HostVars()),
        ('[1, 2]', HostVars()),
        ('ansible_port: "22"', HostVars(None, None, 22)),
        ('ansible_port: 99999999999', HostVars(unreadable=True)),
        ('ansible_port: true', HostVars(unreadable=True)),
        ('ansible_host: yes', HostVars('true')),
        ('ansible_host: 12345', HostVars('12345')),
        ('ansible_host: {a: 1}', HostVars(unreadable=True)),
        ('ansible_host: ~', HostVars()),
        ('ansible_host: !!python/object:os.system x', HostVars(unreadable=True)),
        ('a: &a [*a]', HostVars()),
        ('ansible_host: first\nansible_host: second', HostVars('second')),
        ('ansible_host: "caf\\u00e9"', HostVars('café')),
        ('{"ansible_host": "x\\u0000y"}', HostVars('xy')),
        ('{"ansible_host": "a\\ud83db"}', HostVars('a?b')),
        ('\x00\xff garbage', HostVars()),
    ],
)
def test_parsing(text, expected):
    assert host_vars(text) == expected


# -- the fast path for simple YAML must agree with libyaml ------------------------------------------------------------


_keys = st.sampled_from(
    ['ansible_host', 'ansible_port', 'ansible_connection', 'ansible_user', 'yes', 'null', 'On', 'x_1', 'TRUE']
)
_plain = st.one_of(
    st.from_regex(r'[A-Za-z0-9][A-Za-z0-9./-]{0,20}', fullmatch=True),
    st.sampled_from(
        [
            '10.0.0.5',
            '22',
            '022',
            '0x1F',
            '1.5',
            '1e3',
            'yes',
            'No',
            'off',
            'null',
            'NULL',
            '2024-02-29',
            '0',
            '-1',
            'ssh',
            'local',
            '1_000',
            '.5',
            'inf',
            '10.0.0.5/24',
            'host-1.example.com',
        ]
    ),
)
_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
_quoted = st.one_of(
    _printable.map(lambda t: "'" + t.replace("'", "''") + "'"),  # a valid single-quoted scalar
    _printable.filter(lambda t: '\\' not in t and '"' not in t).map(lambda t: f'"{t}"'),
    st.sampled_from(["'it''s'", "''", '""', '"a # b"', "'#'", "'a' 'b'", '"a"b"', "'a", '"\\t"', "'\\'"]),
)
_trailing = st.sampled_from(['', ' ', '   ', ' # comment', '  #', ' #x: y', '#tight', '\t# tab'])
_filler = st.sampled_from(['', '   ', '# a comment', '  # indented comment', '#', '\t'])


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.one_of(st.tuples(_keys, st.one_of(_plain, _quoted), _trailing), _filler), min_size=1, max_size=6),
    st.booleans(),
)
def test_fast_path_equals_libyaml(lines, marker):
    body = [line if isinstance(line, str) else f'{line[0]}: {line[1]}{line[2]}' for line in lines]
    text = ('---\n' if marker else '') + '\n'.join(body) + '\n'
    fast = _simple_yaml(text)
    if fast is not None:  # when the fast path answers, it answers exactly what libyaml would
        assert fast == yaml.load(text, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))


def test_fast_path_declines_what_it_does_not_understand():
    for text in [
        '  ansible_host: x',
        'a: [1, 2]',
        'ansible_host: 1.5',
        'ansible_host: yes',
        'a: 2024-02-29',
        'a: 010',
        'yes: x',
        'a:\tb',
        'a: "tab\\tescape"',
        "a: 'multi\n  line'",
        'a: x#not-a-comment',
        "a: 'x'# tight",
        'a: "caf\u00e9"',
        'a: x # caf\u00e9',
    ]:
        assert _simple_yaml(text) is None, text
    assert _simple_yaml('---\nansible_host: 10.0.0.1\nansible_port: 22\n') == {
        'ansible_host': '10.0.0.1',
        'ansible_port': 22,
    }


def test_fast_path_reads_quotes_and_comments():
    text = "---\n# inventory\nansible_host: '10.0.0.1'  # mgmt NIC\n\nansible_user: \"it's\"\nnote: 'a''b' #\n"
    assert _simple_yaml(text) == {'ansible_host': '10.0.0.1', 'ansible_user': "it's", 'note': "a'b"}


def test_text_without_the_keys_is_not_parsed():
    assert not may_hold_keys('host_var: 1\n' * 1000)
    assert may_hold_keys('{"ansible\\u005fhost": "x"}')
    assert host_vars('{"ansible\\u005fhost": "10.0.0.9"}') == HostVars('10.0.0.9')
    assert host_vars('a: &x ansible_host\n*x : 10.0.0.8') == HostVars('10.0.0.8')  # an alias copies written text
