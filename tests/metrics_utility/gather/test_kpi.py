"""The KPI sink's error travels summary → termination message → operator status and Events: an Elasticsearch that
echoes our Authorization header must leave no form of the credential on that whole way."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import trustme

from metrics_operator import status as op_status
from metrics_operator import worker_summary as op_summary
from metrics_utility.gather.kpi import KpiSink
from metrics_utility.gather.summary import RunSummary
from metrics_utility.library.storage import RetryPolicy
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch
from testsupport.https_servers import HTTPSServer
from testsupport.secrets import Echo, assert_no_secret

pytestmark = pytest.mark.integration

USER = 'kpi-writer'
PASSWORD = 'kpi/pass+word=do-not~leak 0004'
API_KEY = base64.b64encode(b'kpiKeyId0001:kpi-api-key-secret-part-0004').decode()
NOW = datetime(2026, 3, 2, 5, tzinfo=UTC)


@pytest.fixture(scope='module')
def ca(tmp_path_factory) -> tuple[trustme.CA, str]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp('kpi-tls') / 'ca.pem'
    authority.cert_pem.write_to_path(str(path))
    return authority, str(path)


CASES = {
    'basic auth echoed without padding': ({'username': USER, 'password': PASSWORD}, 'Authorization: Basic ***'),
    'api key echoed without padding': ({'api_key': API_KEY}, 'Authorization: ApiKey ***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('credentials, shown', CASES.values(), ids=list(CASES))
def test_kpi_error_reaches_summary_status_and_events_without_the_credential(ca, caplog, credentials, shown):
    authority, bundle = ca
    retry = RetryPolicy(attempts=1)
    with HTTPSServer(authority, Echo(400, 'Authorization', lambda t: t.rstrip('='))) as server:
        target = StorageElasticsearch(server.url(''), 'kpi', verify_cert_path=bundle, retry=retry, **credentials)
        run = RunSummary(ok=True)  # a KPI failure never fails the gather
        sink = KpiSink(target, now=lambda: NOW)
        sink.finish(run)
        url = server.url('')
    error = f'Elasticsearch {url}/kpi answered HTTP 400 to a bulk request: you sent: {shown}'
    assert run.kpi == {'documents': 0, 'error': error}
    message = run.render()  # the termination message
    assert json.loads(message)['kpi'] == {'documents': 0, 'error': error}

    parsed = op_summary.parse(message)
    job = op_status.JobRecord('c-gather-1', 'gather', 'succeeded', finished='2026-03-02T05:00:00Z', summary=parsed)
    ready = op_status.ReadyState('True', 'Reconciled', 'ok')
    st, failures = op_status.compose({}, ready, [job], generation=1, enabled=['gather'], now='2026-03-02T05:01:00Z')
    assert st['gather']['kpi'] == {'documents': 0, 'error': error}  # status.gather.kpi
    assert failures == []
    outputs = [message, json.dumps(st), caplog.text]
    assert_no_secret(outputs, PASSWORD, user=USER)
    assert_no_secret(outputs, API_KEY, 'kpi-api-key-secret-part-0004')
