"""`metrics-utility serve` as a user starts it (a real process on a loopback port over the demo storage), fuzzed
against its own OpenAPI document with schemathesis: every answer has a documented status, content type and shape."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from metrics_utility.serve.openapi import document
from testsupport.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
schema = schemathesis.openapi.from_dict(document())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def served(demo_storage: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`metrics-utility serve --port N` over the demo storage; its URL once /healthz answers. Its output goes to a
    file: a pipe nobody reads while the fuzzer runs fills up with the access log and blocks the server."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')}
    env.update({'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(demo_storage)})
    log = tmp_path_factory.mktemp('serve') / 'output.log'
    with log.open('w') as out:
        process = subprocess.Popen(
            [sys.executable, '-m', 'metrics_utility.cli', 'serve', '--port', str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f'http://127.0.0.1:{port}'

    def up() -> bool:
        try:
            return requests.get(url + '/healthz', timeout=1).status_code == 200
        except requests.ConnectionError:
            assert process.poll() is None, log.read_text()
            return False

    try:
        wait_until(up, 30, 'serve to answer /healthz')
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert f'on http://127.0.0.1:{port}/ (loopback only)' in log.read_text()


def test_the_served_document_is_the_one_fuzzed(served):
    assert requests.get(served + '/openapi.json', timeout=5).json() == document()


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented(case, served):
    """Schema-compliant requests may still be refused (since after until, a range beyond ten years): the checks are
    that nothing fails on the server, and that every answer's status, content type and body are documented."""
    case.call_and_validate(
        base_url=served,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
        timeout=60,  # the shared test machine may be busy; answers normally take well under a second
    )
