"""Hostile servers that echo our credentials back, in every encoding: the token endpoint (client_secret
form-encoded), Elasticsearch (Authorization: Basic / ApiKey), Segment (write key). No form of any secret may reach
an exception text, a log record (DEBUG included) or a description, and a cut never leaves part of one."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import quote, quote_plus, unquote_plus

import pytest

from metrics_utility.library.storage import StorageCRC, StorageError
from metrics_utility.library.storage.elasticsearch import StorageElasticsearch
from testsupport.https_servers import HTTPSServer
from testsupport.secrets import CLIENT_ID, Echo, assert_no_secret, exception_texts, logged

pytestmark = pytest.mark.integration

NAME = 'data/2024/02/29/4b5a-2024-02-29-000000+0000-0-job_host_summary.tar.gz'
# '/', '+', '=', '~', a space and a non-ASCII letter: each is encoded differently by quote, quote_plus and JSON.
CLIENT_SECRET = 'crc/Client+Secret=dø-not~leak 0001'
ES_USER = 'kpi-writer'
ES_PASSWORD = 'es/pass+word=dø-not~leak 0002'
ES_API_KEY = base64.b64encode(b'VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').decode()
FORM = f'grant_type=client_credentials&client_id={CLIENT_ID}&client_secret='
PAD = 'x' * (280 - len(FORM))


def lower_hex(text: str) -> str:
    import re

    return re.sub(r'%[0-9A-F]{2}', lambda m: m.group(0).lower(), text)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# id: (status, encode, what the error shows of the echo)
TOKEN_ECHOES = {
    'form body as sent': (400, lambda t: t, f'you sent: {FORM}***'),
    'form body, lower-case hex': (401, lower_hex, f'you sent: {FORM}***'),
    'form body URL-decoded, as a Python bytes repr': (
        401,
        lambda t: repr(unquote_plus(t).encode()),
        f"you sent: b'{FORM}***'",
    ),
    'form body URL-encoded again': (
        403,
        lambda t: quote(t, safe=''),
        f'you sent: grant_type%3Dclient_credentials%26client_id%3D{CLIENT_ID}%26client_secret%3D***',
    ),
    'form body URL-decoded in JSON': (
        401,
        lambda t: json.dumps({'sent': unquote_plus(t)}),
        f'you sent: {{"sent": "{FORM}***"}}',
    ),
    'client secret base64': (401, lambda t: b64(unquote_plus(t).split('client_secret=')[1]), 'you sent: ***'),
    'basic auth of client id and secret': (
        401,
        lambda t: 'Authorization: Basic ' + b64(f'{CLIENT_ID}:{unquote_plus(t).split("client_secret=")[1]}'),
        'you sent: Authorization: Basic ***',
    ),
    # the echo puts the secret at characters 290..323 of the body: cutting at 300 first would leave 10 of them
    'secret straddles the 300-character cut': (401, lambda t: PAD + t, f'you sent: {PAD}{FORM}***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('status, encode, shown', TOKEN_ECHOES.values(), ids=list(TOKEN_ECHOES))
def test_a_token_endpoint_echoing_the_client_secret_never_leaks_it(
    tls_ca, ingress_server, ca_bundle, retry, caplog, status, encode, shown
):
    with HTTPSServer(tls_ca, Echo(status, encode=encode)) as sso:
        crc = StorageCRC(
            CLIENT_ID,
            CLIENT_SECRET,
            ingress_url=ingress_server.url('/upload'),
            sso_url=sso.url('/token'),
            verify_cert_path=ca_bundle,
            retry=retry,
        )
        with pytest.raises(StorageError) as caught:
            crc.put(NAME, fileobj=io.BytesIO(b'tarball'))
        sent = sso.requests[0].body.decode()
    assert sent == FORM + quote_plus(CLIENT_SECRET)  # the server really received (and echoed) the secret
    assert str(caught.value) == (
        f"SSO {sso.url('/token')} rejected the service account credentials of client_id '{CLIENT_ID}' "
        f'(HTTP {status}: {shown}); check the client id and secret'
    )
    assert_no_secret(
        [*exception_texts(caught.value), *logged(caplog), caplog.text, crc.describe()], CLIENT_SECRET, user=CLIENT_ID
    )


def decoded_basic(header: str) -> str:
    data = base64.b64decode(header.rsplit(' ', 1)[1])
    try:
        return data.decode()
    except UnicodeDecodeError:  # requests sends basic auth as Latin-1
        return data.decode('latin-1')


# id: (credentials, encode of the echoed "Authorization: …" line, what the error shows of the echo)
BASIC = {'username': ES_USER, 'password': ES_PASSWORD}
APIKEY = {'api_key': ES_API_KEY}
ES_ECHOES = {
    'basic header as sent': (BASIC, lambda t: t, 'Authorization: Basic ***'),
    'basic header in a JSON error': (
        BASIC,
        lambda t: json.dumps({'error': {'type': 'x', 'reason': t}}),
        '{"error": {"type": "x", "reason": "Authorization: Basic ***"}}',
    ),
    'basic header in a Python dict repr': (
        BASIC,
        lambda t: repr({'Authorization': t.split(': ', 1)[1].encode()}),
        "{'Authorization': b'Basic ***'}",
    ),
    'basic header decoded, as a Python bytes repr': (
        BASIC,
        lambda t: repr(base64.b64decode(t.rsplit(' ', 1)[1])),
        f"b'{ES_USER}:***'",
    ),
    'basic header decoded, percent-encoded': (BASIC, lambda t: quote(decoded_basic(t), safe=''), f'{ES_USER}%3A***'),
    'basic header decoded, JSON-escaped': (BASIC, lambda t: json.dumps(decoded_basic(t)), f'"{ES_USER}:***"'),
    'basic header base64 without padding': (BASIC, lambda t: t.rstrip('='), 'Authorization: Basic ***'),
    'api key header without base64 padding': (APIKEY, lambda t: t.rstrip('='), 'Authorization: ApiKey ***'),
    'api key decoded to id:key': (APIKEY, decoded_basic, 'VuaCfGcBCdbkQm-e5aOx:***'),
    'api key header percent-encoded': (APIKEY, lambda t: quote(t, safe=''), 'Authorization%3A%20ApiKey%20***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('credentials, encode, shown', ES_ECHOES.values(), ids=list(ES_ECHOES))
def test_elasticsearch_echoing_the_authorization_header_never_leaks_it(
    tls_ca, ca_bundle, retry, caplog, credentials, encode, shown
):
    with HTTPSServer(tls_ca, Echo(400, 'Authorization', encode)) as server:
        es = StorageElasticsearch(server.url(''), 'kpi', verify_cert_path=ca_bundle, retry=retry, **credentials)
        with pytest.raises(StorageError) as caught:
            es.index_documents([('a', {'x': 1})])
        header = server.requests[0].headers['Authorization']
    latin1 = base64.b64encode(f'{ES_USER}:{ES_PASSWORD}'.encode('latin-1')).decode()  # as requests encodes it
    assert header in (f'Basic {latin1}', f'ApiKey {ES_API_KEY}')  # the credential really went out and came back
    assert str(caught.value) == (
        f'Elasticsearch {server.url("")}/kpi answered HTTP 400 to a bulk request: you sent: {shown}'
    )
    outputs = [*exception_texts(caught.value), *logged(caplog), caplog.text, es.describe()]
    assert_no_secret(outputs, ES_PASSWORD, user=ES_USER)
    assert_no_secret(outputs, ES_API_KEY, 'ui2lp2axTNmsyakw9tvNnw')


WRITE_KEY = 'segment/write+key=dø-not~leak-0006'
SEGMENT_ECHOES = {
    'basic auth header as sent': (lambda t: t, 'Authorization: Basic ***'),
    'basic auth decoded, percent-encoded': (lambda t: quote(decoded_basic(t), safe=''), '***%3A'),
    'basic auth decoded, in JSON': (lambda t: json.dumps({'key': decoded_basic(t)}), '{"key": "***:"}'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('encode, shown', SEGMENT_ECHOES.values(), ids=list(SEGMENT_ECHOES))
def test_segment_echoing_the_write_key_never_leaks_it(tls_ca, ca_bundle, retry, caplog, encode, shown):
    from metrics_utility.library.storage.segment import StorageSegment

    with HTTPSServer(tls_ca, Echo(400, 'Authorization', encode)) as server:
        url = server.url('/v1/batch')
        segment = StorageSegment(write_key=WRITE_KEY, url=url, verify_cert_path=ca_bundle, retry=retry)
        with pytest.raises(StorageError) as caught:
            segment.put('anonymized/x.json', dict={'a': 1})
    assert str(caught.value) == (
        f'{url} answered HTTP 400 for batch 1: you sent: {shown}; 0 of 1 batches were sent; sending '
        'anonymized/x.json again is safe (Segment drops duplicates)'
    )
    assert_no_secret([*exception_texts(caught.value), *logged(caplog), caplog.text, segment.describe()], WRITE_KEY)


# console.redhat.com's ingress echoing the bearer token it was sent (the token SSO issued: bearer-token-…-1).
INGRESS_ECHOES = {
    # 'Authorization: Bearer ' is 22 bytes: the token starts 2 bits into character 29, which stays
    'whole header line in base64': (lambda t: b64(t), 'QXV0aG9yaXphdGlvbjogQmVhcmVyIG***'),
    'token alone in base64': (lambda t: b64(t.rsplit(' ', 1)[1]), '***'),
    'token in base64url without padding': (
        lambda t: base64.urlsafe_b64encode(t.rsplit(' ', 1)[1].encode()).decode().rstrip('='),
        '***',
    ),
    'token cut by the server after 20 characters': (lambda t: t.rsplit(' ', 1)[1][:20], '***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('encode, shown', INGRESS_ECHOES.values(), ids=list(INGRESS_ECHOES))
def test_ingress_echoing_the_bearer_token_never_leaks_it(tls_ca, sso_server, ca_bundle, retry, caplog, encode, shown):
    from testsupport.secrets import CLIENT_SECRET as SSO_SECRET
    from testsupport.secrets import TOKEN_PREFIX

    with HTTPSServer(tls_ca, Echo(400, 'Authorization', encode)) as ingress:
        url = ingress.url('/upload')
        crc = StorageCRC(
            CLIENT_ID,
            SSO_SECRET,
            ingress_url=url,
            sso_url=sso_server.url('/token'),
            verify_cert_path=ca_bundle,
            retry=retry,
        )
        with pytest.raises(StorageError) as caught:
            crc.put(NAME, fileobj=io.BytesIO(b'tarball'))
        assert ingress.requests[0].headers['Authorization'] == f'Bearer {TOKEN_PREFIX}1'
    assert str(caught.value) == f'{url} refused {NAME}: HTTP 400 Bad Request: you sent: {shown}'
    outputs = [*exception_texts(caught.value), *logged(caplog), caplog.text, crc.describe()]
    assert_no_secret(outputs, f'{TOKEN_PREFIX}1', SSO_SECRET)
