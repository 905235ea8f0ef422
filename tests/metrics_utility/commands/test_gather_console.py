"""`gather --ship` to console.redhat.com (put-only) through HTTPS stand-ins with real TLS.

SSO down, ingress rejecting credentials, ingress failing mid-run: each run fails without moving the watermark past
what ingress accepted, and a normal rerun then uploads every remaining window. Across all runs every job host
summary of the period reaches ingress exactly once.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
from collections import Counter

import pytest
import trustme

from metrics_utility.demo.generator import SECRET_SETTINGS
from metrics_utility.library.collectors.registry import COLLECTORS
from testsupport.console import SSOResponder
from testsupport.https_servers import HTTPSServer, Recorded, Reply, form_parts
from testsupport.secrets import CLIENT_ID, CLIENT_SECRET, TOKEN_PREFIX

from .test_gather import UNTIL, gather, truth

pytestmark = pytest.mark.integration


class Ingress:
    """Accepts uploads (202) unless told to fail; keeps every accepted tarball."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.failing: Reply | None = None
        self.accept_before_failing: int | None = None
        self._lock = threading.Lock()

    def __call__(self, request: Recorded) -> Reply:
        with self._lock:
            if self.failing is not None and (self.accept_before_failing is None or self.accept_before_failing <= 0):
                return self.failing
            if self.accept_before_failing is not None:
                self.accept_before_failing -= 1
            (part,) = [p for p in form_parts(request) if p.get_param('name', header='content-disposition') == 'file']
            assert (
                part.get_content_type()
                == 'application/vnd.redhat.aap-billing-controller.aap_billing_controller_payload+tgz'
            )
            self.accepted.append(part.get_payload(decode=True))
            return Reply(202, {'upload': {}}, {'x-rh-insights-request-id': f'req-{len(self.accepted)}'})


class Switchable:
    """A responder that answers `down` (when set) instead of asking the real one."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.down: Reply | None = None

    def __call__(self, request: Recorded) -> Reply:
        return self.down or self.inner(request)


@pytest.fixture
def console(tmp_path):
    ca = trustme.CA()
    bundle = tmp_path / 'ca.pem'
    ca.cert_pem.write_to_path(str(bundle))
    ingress = Ingress()
    token = Switchable(SSOResponder())
    with HTTPSServer(ca, token) as sso, HTTPSServer(ca, ingress) as upload:
        sso.switch = token
        yield sso, upload, ingress, str(bundle)


def console_env(db, tmp_path, sso, upload, bundle) -> dict[str, str]:
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 'crc',
        'METRICS_UTILITY_BILLING_PROVIDER': 'aws',
        'METRICS_UTILITY_BILLING_ACCOUNT_ID': '123456789012',
        'METRICS_UTILITY_SERVICE_ACCOUNT_ID': CLIENT_ID,
        'METRICS_UTILITY_SERVICE_ACCOUNT_SECRET': CLIENT_SECRET,
        'METRICS_UTILITY_CRC_INGRESS_URL': upload.url('/api/ingress/v1/upload'),
        'METRICS_UTILITY_CRC_SSO_URL': sso.url('/auth/token'),
        'METRICS_UTILITY_CRC_CA_BUNDLE': bundle,
        'METRICS_UTILITY_STATE_PATH': str(tmp_path / 'state' / 'watermarks.json'),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': '',
    }


def uploaded_ids(blobs: list[bytes]) -> Counter:
    seen: Counter = Counter()
    for blob in blobs:
        with tarfile.open(fileobj=io.BytesIO(blob), mode='r:gz') as tar:
            try:
                data = tar.extractfile('./job_host_summary.csv')
            except KeyError:
                continue
            lines = io.TextIOWrapper(data, encoding='utf-8').read().splitlines()[1:]
            seen.update(int(line.split(',', 1)[0]) for line in lines)
    return seen


def test_failures_then_rerun_upload_every_summary_exactly_once(controller_db, tmp_path, monkeypatch, capsys, console):
    sso, upload, ingress, bundle = console
    env = console_env(controller_db, tmp_path, sso, upload, bundle)
    state = tmp_path / 'state' / 'watermarks.json'
    retry_now = {'Retry-After': '0'}  # the retries happen at once, so the test is quick

    # SSO is down: nothing is uploaded, no watermark is written.
    sso.switch.down = Reply(503, {'error': 'down'}, retry_now)
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 1
    assert 'job_host_summary' in capsys.readouterr().err
    assert not ingress.accepted and not state.exists()
    sso.switch.down = None

    # Ingress rejects the credentials (401 even after a fresh token): same.
    ingress.failing = Reply(401, {'errors': [{'detail': 'Unauthorized'}]})
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 1
    assert 'credentials' in capsys.readouterr().err
    assert not ingress.accepted and not state.exists()

    # Ingress accepts five uploads, then answers 503 (retried, still failing): the watermark stops at the last
    # accepted window.
    ingress.failing, ingress.accept_before_failing = Reply(503, {}, retry_now), 5
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 1
    assert len(ingress.accepted) == 5
    shipped_until = json.loads(state.read_text())['shipped_until']['job_host_summary']
    assert shipped_until < '2024-03-02'

    # Ingress recovers: a normal rerun resumes after the watermark; even an explicit --since does not resend.
    ingress.failing = ingress.accept_before_failing = None
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 0
    assert gather(monkeypatch, env, '--ship', '--since', '2024-02-27', '--until', UNTIL) == 0
    counts = uploaded_ids(ingress.accepted)
    assert set(counts) == truth(controller_db, '2024-02-03', UNTIL)
    assert set(counts.values()) == {1}

    # Nothing secret in what was uploaded or printed.
    printed = capsys.readouterr()
    texts = [gzip.decompress(blob) for blob in ingress.accepted] + [(printed.out + printed.err).encode()]
    for secret in [CLIENT_SECRET, TOKEN_PREFIX, controller_db.reader_password, *SECRET_SETTINGS.values()]:
        assert not any(secret.encode() in text for text in texts), secret[:6]


def test_a_snapshot_run_under_its_own_lock_leaves_the_watermarks_alone(controller_db, tmp_path, monkeypatch, console):
    """The operator's vCPU pod shares METRICS_UTILITY_STATE_PATH with the gather pod but holds another lock, so it must
    never write the file (a read-modify-write there could undo a gather's advance). Snapshot collectors do not move
    watermarks: `total_workers_vcpu` is one, like `main_host` used here (no Prometheus needed)."""
    assert COLLECTORS['total_workers_vcpu'].info.kind == 'snapshot'
    sso, upload, ingress, bundle = console
    env = console_env(controller_db, tmp_path, sso, upload, bundle)
    state = tmp_path / 'state' / 'watermarks.json'
    assert gather(monkeypatch, env, '--ship', '--until', UNTIL) == 0
    before, written = state.read_bytes(), state.stat()
    snapshot = env | {
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_host',
        'METRICS_UTILITY_DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'true',
        'METRICS_UTILITY_COLLECTOR_LOCK_SUFFIX': 'vcpu',
    }
    uploads = len(ingress.accepted)
    assert gather(monkeypatch, snapshot, '--ship', '--until', UNTIL) == 0
    assert len(ingress.accepted) == uploads + 1  # the snapshot was shipped, the watermark file not rewritten
    after = state.stat()
    assert state.read_bytes() == before and (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
