"""Pushgateway pushes after gather and build-report, against a local HTTP server playing the Pushgateway; bodies
are parsed with prometheus_client's parser. A failed push never fails the run and never leaks a credential."""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metrics_utility import pushgateway
from metrics_utility.cli import _parser
from metrics_utility.commands import build_report, gather
from metrics_utility.settings.push import push_settings
from testsupport.report_data import synthetic

pytestmark = pytest.mark.unit
PASSWORD = 'pushgw-S3cr3t-do-not-leak'
DB_PASSWORD = 'db-S3cr3t-do-not-leak'


@dataclass
class Push:
    method: str
    path: str
    headers: dict[str, str]
    body: str

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(self.body)
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples().get((name, tuple(sorted(labels.items()))))


@dataclass
class FakePushgateway:
    """Records every request; answers `status` (the real one answers 200 to PUT/POST on /metrics/job/…)."""

    status: int = 200
    pushes: list[Push] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f'http://127.0.0.1:{self.server.server_port}'

    def start(self) -> FakePushgateway:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length).decode()
                fake.pushes.append(Push(self.command, self.path, dict(self.headers), body))
                self.send_response(fake.status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            do_PUT = do_POST = do_DELETE = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def pushgw() -> Iterator[FakePushgateway]:
    server = FakePushgateway().start()
    yield server
    server.stop()


def push_env(url: str, **extra: str) -> dict[str, str]:
    return {'METRICS_UTILITY_PUSHGATEWAY_URL': url, 'METRICS_UTILITY_PUSHGATEWAY_INSTANCE': 'cron-host', **extra}


def test_gather_success_figures_and_usage(pushgw):
    summary = {
        'command': 'gather',
        'ok': True,
        'rows': 123,
        'bytes': 4567,
        'packages': 2,
        'error': None,
        'window': {'since': '2026-03-02T02:50:00Z', 'until': '2026-03-02T03:50:00Z'},
        'usage': {'month': '2026-03', 'unique_managed_nodes': 17, 'job_runs': 5},
    }
    env = push_env(pushgw.url, METRICS_UTILITY_PUSHGATEWAY_GROUPING='install_uuid=abc, bad label=x')
    assert pushgateway.push_run('gather', summary, 12.5, push_settings(env), now=1_000.0)
    (push,) = pushgw.pushes
    assert push.method == 'POST'  # pushadd: a later failure keeps these figures
    assert push.path == '/metrics/job/metrics-utility/install_uuid/abc/instance/cron-host/kind/gather'
    assert push.value('metrics_utility_run_success') == 1
    assert push.value('metrics_utility_run_duration_seconds') == 12.5
    assert push.value('metrics_utility_last_success_timestamp_seconds') == 1_000.0
    assert push.value('metrics_utility_gather_last_rows') == 123
    assert push.value('metrics_utility_gather_last_bytes') == 4567
    assert push.value('metrics_utility_gather_last_packages') == 2
    assert push.value('metrics_utility_gather_shipped_until_timestamp_seconds') == (
        datetime(2026, 3, 2, 3, 50, tzinfo=UTC).timestamp()
    )
    assert push.value('metrics_utility_unique_managed_nodes', period='month', month='2026-03') == 17
    assert push.value('metrics_utility_job_runs', period='month', month='2026-03') == 5
    assert push.value('metrics_utility_last_failure_timestamp_seconds') is None


def test_gather_command_failure_is_pushed_without_secrets(pushgw):
    env = push_env(pushgw.url, METRICS_UTILITY_DB_PASSWORD=DB_PASSWORD)  # no host etc.: invalid configuration
    code = gather.run(_parser().parse_args(['gather', '--ship']), env=env)
    assert code == 2
    (push,) = pushgw.pushes
    assert push.path.endswith('/kind/gather')
    assert push.value('metrics_utility_run_success') == 0
    assert push.value('metrics_utility_last_failure_timestamp_seconds') is not None
    # A failure pushes no success time and no figures, so the last good run's stay in the group.
    assert {name for name, _ in push.samples()} == {
        'metrics_utility_run_success',
        'metrics_utility_run_duration_seconds',
        'metrics_utility_last_run_timestamp_seconds',
        'metrics_utility_last_failure_timestamp_seconds',
    }
    assert DB_PASSWORD not in push.body and DB_PASSWORD not in push.path


def test_build_report_pushes_the_billed_quantity_with_basic_auth(pushgw, tmp_path, capsys):
    synthetic(date(2024, 2, 28), 2).write(tmp_path)
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PUSHGATEWAY_USERNAME': 'pusher',
        'METRICS_UTILITY_PUSHGATEWAY_PASSWORD': PASSWORD,
        **push_env(pushgw.url),
    }
    args = _parser().parse_args(['build-report', '--month', '2024-02', '--summary-file', str(tmp_path / 's.json')])
    assert build_report.run(args, env=env, now=datetime(2024, 3, 2, tzinfo=UTC)) == 0
    written = json.loads((tmp_path / 's.json').read_text())
    assert written['period'] == '2024-02' and written['quantity'] > 0
    (push,) = pushgw.pushes
    assert push.path == '/metrics/job/metrics-utility/instance/cron-host/kind/report'
    assert push.headers['Authorization'] == 'Basic ' + base64.b64encode(f'pusher:{PASSWORD}'.encode()).decode()
    assert push.value('metrics_utility_report_billed_managed_nodes', period='2024-02') == written['quantity']
    assert push.value('metrics_utility_run_success') == 1
    assert PASSWORD not in push.body


def test_a_failed_push_warns_and_the_run_still_succeeds(pushgw, tmp_path, capsys, caplog):
    pushgw.status = 500
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
        'METRICS_UTILITY_PUSHGATEWAY_USERNAME': 'user',
        'METRICS_UTILITY_PUSHGATEWAY_PASSWORD': PASSWORD,
        **push_env(pushgw.url),
    }
    with caplog.at_level(logging.WARNING, logger='metrics_utility.pushgateway'):
        code = build_report.run(
            _parser().parse_args(['build-report', '--month', '2024-02']), env=env, now=datetime(2024, 3, 2, tzinfo=UTC)
        )
    assert code == 0  # no billing data: skipped, exit 0 — the push outcome does not change it
    (push,) = pushgw.pushes
    assert push.headers['Authorization'] == 'Basic ' + base64.b64encode(f'user:{PASSWORD}'.encode()).decode()
    assert 'could not push the run metrics' in caplog.text and '500' in caplog.text
    assert PASSWORD not in caplog.text and PASSWORD not in capsys.readouterr().err


def test_unreachable_or_unset_pushgateway_is_harmless(caplog):
    assert (
        pushgateway.push_run('gather', {'ok': True}, 1.0, push_settings({})) is False
    )  # not configured: nothing happens
    with caplog.at_level(logging.WARNING, logger='metrics_utility.pushgateway'):
        assert pushgateway.push_run('gather', {'ok': True}, 1.0, push_settings(push_env('http://127.0.0.1:9'))) is False
    assert 'could not push' in caplog.text


# A URL holding credentials is refused (a warning, nothing pushed): the password never reaches a log line, and a
# warning is the answer to every Pushgateway problem because telemetry never fails a run.
URL_CREDENTIALS = {
    'user and password': 'http://user:{password}@{host}',
    'percent-encoded password': 'http://user:{quoted}@{host}',
    'token only': 'http://{password}@{host}',
}


@pytest.mark.hostile
@pytest.mark.parametrize('template', URL_CREDENTIALS.values(), ids=list(URL_CREDENTIALS))
def test_a_url_holding_credentials_is_refused_and_never_logged(pushgw, caplog, template):
    from urllib.parse import quote

    from testsupport.secrets import assert_no_secret

    url = template.format(
        password=PASSWORD, quoted=quote(PASSWORD + '/+', safe=''), host=pushgw.url.removeprefix('http://')
    )
    with caplog.at_level(logging.DEBUG):
        assert pushgateway.push_run('gather', {'ok': True}, 1.0, push_settings(push_env(url))) is False
    assert pushgw.pushes == []
    assert [r.getMessage() for r in caplog.records if r.name == 'metrics_utility.pushgateway'] == [
        'METRICS_UTILITY_PUSHGATEWAY_URL holds credentials (user:password@host), which would reach logs and '
        'ConfigMaps: give them in METRICS_UTILITY_PUSHGATEWAY_USERNAME/PASSWORD instead; nothing pushed'
    ]
    assert_no_secret(caplog.text, PASSWORD, PASSWORD + '/+')
