"""Host variables: real YAML/JSON semantics, never an exception."""

from datetime import UTC, datetime

import pytest

from metrics_utility.demo.generator import DatasetSpec, plan
from metrics_utility.library.collectors.controller.hostvars import HostVars, host_vars


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
        ('---\nansible_host: "10.0.0.12"  # primary NIC\nansible_port: ssh\n', HostVars('10.0.0.12')),
        ("ansible_host: 'a#b'  # comment", HostVars('a#b')),
        ('{"ansible_host": "10.0.0.21", "ansible_port": 5432}', HostVars('10.0.0.21', None, 5432)),
        ('{"vars": {"ansible_host": "nested"}, "ansible_connection": "local"}', HostVars(None, 'local')),
        ('group:\n  ansible_host: nested\n', HostVars()),
        ('  ansible_host: root-may-be-indented', HostVars('root-may-be-indented')),  # YAML, unlike a line regex
        ('', HostVars()),
        ('   \n', HostVars()),
        ('{"ansible_host": "10.0.0.32",', HostVars()),
        ('ansible_host: [10.0.0.33\n\tbad: : indent', HostVars()),
        ('just a string', HostVars()),
        ('[1, 2]', HostVars()),
        ('ansible_port: "22"', HostVars(None, None, 22)),
        ('ansible_port: 99999999999', HostVars()),
        ('ansible_port: true', HostVars()),
        ('ansible_host: yes', HostVars('true')),
        ('ansible_host: 12345', HostVars('12345')),
        ('ansible_host: {a: 1}', HostVars()),
        ('ansible_host: ~', HostVars()),
        ('ansible_host: !!python/object:os.system x', HostVars()),
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
