"""The Prometheus client behind a hostile proxy that echoes the bearer token: in an error body, a JSON error, a
warning. No form of the token may reach the exception, a log record or the client's repr."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme

from metrics_utility.library.collectors.prometheus.client import PrometheusClient, PrometheusError, check_token
from testsupport.https_servers import HTTPSServer, Reply
from testsupport.secrets import assert_no_secret

TOKEN = 'sha256~echoed-token/do-not+leak-0007'


def echo_json(status: int, key: str, encode=lambda t: t):
    def respond(request):
        seen = encode(request.headers.get('Authorization', ''))
        body = {'status': 'error', 'errorType': 'bad_data', 'error': seen}
        if key == 'warnings':
            body = {'status': 'success', 'warnings': [seen], 'data': {'resultType': 'vector', 'result': []}}
        return Reply(status, body)

    return respond


# id: (responder, the exact error message tail or the exact warning; {where} is "Prometheus at <url>")
CASES = {
    'error body with the header as sent': (
        echo_json(500, 'error'),
        "{where} answered HTTP 500 Internal Server Error to query 'up': Bearer ***",
    ),
    'error body, percent-encoded': (
        echo_json(502, 'error', lambda t: quote(t, safe='')),
        "{where} answered HTTP 502 Bad Gateway to query 'up': Bearer%20***",
    ),
    'plain-text error body cut at 200 characters': (
        lambda request: Reply(503, 'x' * 180 + request.headers['Authorization']),
        "{where} answered HTTP 503 Service Unavailable to query 'up': " + 'x' * 180 + 'Bearer ***',
    ),
    'error of a 400 in JSON': (
        echo_json(400, 'error', lambda t: json.dumps(t.split()[1])),
        '{where} answered HTTP 400 Bad Request to query \'up\': "***"',
    ),
    'warning of a successful query, lower-case hex': (
        echo_json(200, 'warnings', lambda t: quote(t, safe='').lower()),
        "warning: {where} warned about query 'up': bearer%20***",
    ),
}


@pytest.fixture(scope='module')
def ca(tmp_path_factory) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path_factory.mktemp('prom-tls') / 'ca.pem'
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.mark.hostile
@pytest.mark.parametrize('responder, expected', CASES.values(), ids=list(CASES))
def test_a_proxy_echoing_the_bearer_token_never_leaks_it(ca, caplog, responder, expected):
    authority, bundle = ca
    with HTTPSServer(authority, responder) as server:
        client = PrometheusClient(server.url(''), token=check_token(TOKEN), ca_bundle=bundle)
        where = f'Prometheus at {server.url("")}'
        with caplog.at_level(logging.DEBUG):
            try:
                client.query('up', time=1_709_200_800.0)
                warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
                outcome = 'warning: ' + next(m for m in warnings if 'warned' in m)
            except PrometheusError as exc:
                outcome = str(exc)
        assert server.requests[0].headers['Authorization'] == f'Bearer {TOKEN}'
    assert outcome == expected.format(where=where)
    assert_no_secret([outcome, caplog.text, repr(client)], TOKEN)
