"""library.secret: every encoding of a known secret, credential shapes, redact-before-cut, URLs with credentials,
and log records redacted whatever prints them."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus, urlencode

import pytest

from metrics_utility.library import secret
from metrics_utility.library.secret import Redactor, Secret, shorten, url_credentials_problem
from testsupport.secrets import assert_no_secret, leaks

USER = 'billing-sa-0001'
# '/', '+', '=', '~', a space and a non-ASCII letter: each is encoded differently by quote, quote_plus and JSON.
SECRET = 'crc/Client+Secret=dø-not~leak 0001'


def b64(text: str, *, urlsafe: bool = False, pad: bool = True) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = encode(text.encode()).decode()
    return out if pad else out.rstrip('=')


def lower_hex(text: str) -> str:
    import re

    return re.sub(r'%[0-9A-F]{2}', lambda m: m.group(0).lower(), text)


ENCODED = {
    'plain': (f'echo {SECRET} end', 'echo *** end'),
    'quote, upper-case hex': (f'echo {quote(SECRET, safe="")} end', 'echo *** end'),
    'quote, lower-case hex': (f'echo {lower_hex(quote(SECRET, safe=""))} end', 'echo *** end'),
    'quote keeping slashes': (f'echo {quote(SECRET)} end', 'echo *** end'),
    'quote_plus': (f'echo {quote_plus(SECRET)} end', 'echo *** end'),
    'quote_plus, lower-case hex': (f'echo {lower_hex(quote_plus(SECRET))} end', 'echo *** end'),
    'URL-encoded twice': (f'next={quote(quote_plus(SECRET), safe="")} end', 'next=*** end'),
    'mixed-case hex': (f'echo {quote(SECRET, safe="").replace("%2F", "%2f")} end', 'echo *** end'),
    'form body echoed': (
        urlencode({'grant_type': 'client_credentials', 'client_id': USER, 'client_secret': SECRET}),
        f'grant_type=client_credentials&client_id={USER}&client_secret=***',
    ),
    'JSON, ASCII escapes': (json.dumps({'detail': SECRET}), '{"detail": "***"}'),
    'JSON, UTF-8': (json.dumps({'detail': SECRET}, ensure_ascii=False), '{"detail": "***"}'),
    'JSON, escaped slash': (json.dumps({'detail': SECRET}).replace('/', '\\/'), '{"detail": "***"}'),
    'base64 of the secret': (f'echo {b64(SECRET)} end', 'echo *** end'),
    'base64 of the secret, urlsafe unpadded': (f'echo {b64(SECRET, urlsafe=True, pad=False)} end', 'echo *** end'),
    'basic auth header': (f'Authorization: Basic {b64(f"{USER}:{SECRET}")}', 'Authorization: Basic ***'),
    'base64 of user:secret, urlsafe unpadded': (
        f'echo {b64(f"{USER}:{SECRET}", urlsafe=True, pad=False)} end',
        'echo *** end',
    ),
    'base64 of user:secret inside a Python dict repr': (
        f"{{'Authorization': b'Basic {b64(f'{USER}:{SECRET}')}'}}",
        "{'Authorization': b'Basic ***'}",
    ),
    'secret at byte offset 1 of a longer base64 text': (
        f'echo {b64("x" + SECRET + "yz")} end',
        'echo eG***eXo= end',
    ),
    'secret at byte offset 2 of a longer base64 text': (
        f'echo {b64("xy" + SECRET)} end',
        'echo eHl***Q== end',  # the edge characters hold 2 bits of the secret each, never a whole byte
    ),
    'server cut the echo at the end': (f'echo {SECRET[:15]}', 'echo ***'),
    'server cut the echo before an ellipsis': (f'echo {SECRET[:15]}…', 'echo ***…'),
    'server cut the front of the echo': (f'{SECRET[-12:]} was wrong', '*** was wrong'),
    'twice, in two encodings': (f'{SECRET} and {quote_plus(SECRET)}', '*** and ***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('text, expected', ENCODED.values(), ids=list(ENCODED))
def test_a_known_secret_is_redacted_in_every_encoding(text, expected):
    redact = Redactor(SECRET, user=USER, shared=False)
    assert leaks(text, SECRET, USER)  # the case really holds the secret
    out = redact(text)
    assert out == expected
    assert_no_secret(out, SECRET, user=USER)


SHAPES = {
    'bearer header': ('Authorization: Bearer eyJhbGciOi.x.y', 'Authorization: Bearer ***'),
    'api key header as JSON': ('{"authorization": "ApiKey Vm5YbjRvOFI6dG9w"}', '{"authorization": "ApiKey ***"}'),
    'proxy authorization': ('Proxy-Authorization: Basic dTpw', 'Proxy-Authorization: Basic ***'),
    'botocore signed headers': (
        "{'X-Amz-Date': b'20260101T000000Z', 'Authorization': b'AWS4-HMAC-SHA256 "
        "Credential=AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=ab12'}",
        "{'X-Amz-Date': b'20260101T000000Z', 'Authorization': b'AWS4-HMAC-SHA256 ***, SignedHeaders=host, "
        "Signature=ab12'}",
    ),
    'presigned URL credential': (
        'GET /b/k?X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1 HTTP/1.1',
        'GET /b/k?X-Amz-Credential=***%2F20260101%2Fus-east-1 HTTP/1.1',
    ),
    'security token header': ("{'X-Amz-Security-Token': b'FQoGZXIvYXdzEJr'}", "{'X-Amz-Security-Token': b'***'}"),
    'form fields': ('client_id=a&client_secret=s3cr3t&password=pw', 'client_id=a&client_secret=***&password=***'),
    'JSON password': ('{"user": "u", "password": "pw"}', '{"user": "u", "password": "***"}'),
    'environment echo': ('METRICS_UTILITY_DB_PASSWORD=hunter2 x', 'METRICS_UTILITY_DB_PASSWORD=*** x'),
    'user and password in a URL': ('via http://proxy:pa55@10.0.0.1:3128/', 'via http://proxy:***@10.0.0.1:3128/'),
    'token in a URL': ('see https://ghp_abc123@git.example/x', 'see https://***@git.example/x'),
    'our own message naming a variable': (
        'METRICS_UTILITY_ELASTICSEARCH_PASSWORD: set both for basic auth',
        'METRICS_UTILITY_ELASTICSEARCH_PASSWORD: set both for basic auth',
    ),
    'a private key block in an echoed error': (
        'bad key -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY----- in cert.pem',
        'bad key PEM *** in cert.pem',
    ),
    'a certificate and an RSA key, lower case markers': (
        '-----begin certificate-----\nMIIB\n-----end certificate----- and -----BEGIN RSA PRIVATE KEY-----\nAA\n'
        '-----END RSA PRIVATE KEY-----',
        'PEM *** and PEM ***',
    ),
    'a PEM block cut off (no END)': ('identity: -----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJA', 'identity: PEM ***'),
    'five dashes that start no PEM block': ('----- the subject -----', '----- the subject -----'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('text, expected', SHAPES.values(), ids=list(SHAPES))
def test_credential_shapes_are_scrubbed_without_knowing_the_secret(text, expected):
    assert secret.scrub(text) == expected
    assert Redactor(shared=False)(text) == expected


CUTS = {
    # (text, limit, expected): redact first, then cut, so no prefix of the secret survives
    'cut 10 characters into the secret': ('x' * 290 + SECRET + ' tail', 300, 'x' * 290 + '*** tail'),
    'cut after the secret': ('x' * 290 + SECRET + ' and a long tail', 300, 'x' * 290 + '*** and a …'),
    'cut 15 characters into the secret': ('x' * 285 + SECRET + 'yy', 300, 'x' * 285 + '***yy'),
    'cut inside the mask': ('x' * 299 + SECRET + ' tail', 300, 'x' * 299 + '…'),
    'cut inside the URL-encoded secret': ('x' * 290 + quote_plus(SECRET), 300, 'x' * 290 + '***'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('text, limit, expected', CUTS.values(), ids=list(CUTS))
def test_redaction_happens_before_the_cut(text, limit, expected):
    out = Redactor(SECRET, shared=False).excerpt(text, limit)
    assert out == expected
    assert_no_secret(out, SECRET)


def test_shorten_never_leaves_half_a_mask():
    assert shorten('abc***def', 5) == 'abc…'
    assert shorten('abcdef', 3) == 'abc…'
    assert shorten('abc', 3) == 'abc'


SHORT = {
    # below MIN_LENGTH a secret is not searched for in free text, but its shapes still hide it
    'free text keeps the word': ('pw', None, 'the pw column', 'the pw column'),
    'form field hides it': ('pw', None, 'password=pw&x=1', 'password=***&x=1'),
    'basic auth of user and a short password': ('pw', 'u', f'echo {b64("admin:pw")}', f'echo {b64("admin:pw")}'),
    'bare base64 of user:short password': ('pw', 'admin', f'echo {b64("admin:pw")} end', 'echo *** end'),
    'four characters are redacted': ('abcd', None, 'x abcd y', 'x *** y'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('value, user, text, expected', SHORT.values(), ids=list(SHORT))
def test_short_secrets_follow_the_minimum_length(value, user, text, expected):
    assert secret.MIN_LENGTH == 4
    assert Redactor(value, user=user, shared=False)(text) == expected


def test_api_key_is_redacted_decoded_too():
    api_key = b64('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw')
    redact = Redactor(shared=False)
    redact.add_api_key(api_key)
    assert redact(f'ApiKey {api_key}') == 'ApiKey ***'
    assert redact('key ui2lp2axTNmsyakw9tvNnw was revoked') == 'key *** was revoked'


def test_redactors_share_their_secrets_with_the_process_wide_one():
    Redactor(SECRET, user=USER)
    Secret('another-secret-value')
    assert secret.redact(f'{quote_plus(SECRET)} another-secret-value') == '*** ***'
    assert secret.redact_tree({'error': SECRET, 'list': [SECRET, 1], 'n': None}) == {
        'error': '***',
        'list': ['***', 1],
        'n': None,
    }


URLS = {
    'user and password': ('http://user:pa55@s3.example', True),
    'token only': ('https://tok3n@s3.example:9000/', True),
    'percent-encoded user': ('https://us%40er:p@s3.example', True),
    'upper-case scheme': ('HTTPS://U:P@H', True),
    'backslash after the scheme': ('http:\\\\user:pw@host', True),
    '@ in the path': ('https://s3.example/bucket@2', False),
    '@ in the query': ('https://s3.example/?owner=a@b', False),
    '@ in the fragment': ('https://s3.example:9000#a@b', False),
    'plain host and port': ('http://127.0.0.1:9000', False),
}


@pytest.mark.hostile
@pytest.mark.parametrize('url, refused', URLS.values(), ids=list(URLS))
def test_urls_with_credentials_get_one_message_that_never_repeats_them(url, refused):
    problem = url_credentials_problem('METRICS_UTILITY_X_URL', url, 'use a Secret')
    if not refused:
        assert problem is None
        return
    assert problem == (
        'METRICS_UTILITY_X_URL holds credentials (user:password@host), which would reach logs and ConfigMaps: '
        'use a Secret'
    )


def test_every_log_record_is_redacted_and_chatty_loggers_are_capped(caplog):
    secret.register(SECRET, user=USER)
    secret.install_log_redaction()
    assert logging.getLogger('botocore').level == logging.WARNING
    assert logging.getLogger('urllib3').level == logging.WARNING
    log = logging.getLogger('metrics_utility.test_secret')
    with caplog.at_level(logging.DEBUG, logger='metrics_utility.test_secret'):
        log.debug('sent %s', {'Authorization': f'Basic {b64(f"{USER}:{SECRET}")}'})
        try:
            raise ValueError(f'server said {quote(SECRET, safe="")}')
        except ValueError:
            log.exception('failed with %r', SECRET)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["sent {'Authorization': 'Basic ***'}", "failed with '***'"]
    assert caplog.records[1].exc_text.endswith('ValueError: server said ***')
    assert_no_secret(caplog.text, SECRET, user=USER)


def test_a_log_record_written_while_the_pattern_compiles_is_redacted_too(monkeypatch):
    """Compiling can run the garbage collector, whose finalizers may log on the same thread (an unclosed aiohttp
    session does): redacting that record must not wait for the compile it interrupted (it deadlocked once)."""
    redactor = Redactor('hunter2-is-the-password', shared=False)
    compile_pattern, nested, finalizer_ran = re.compile, [], []

    def compile_with_a_finalizer_that_logs(*args, **kwargs):
        if not finalizer_ran:  # once, as a finalizer runs once
            finalizer_ran.append(True)
            nested.append(redactor('a finalizer logs hunter2-is-the-password'))
        return compile_pattern(*args, **kwargs)

    monkeypatch.setattr(secret.re, 'compile', compile_with_a_finalizer_that_logs)
    outer: list[str] = []
    worker = threading.Thread(target=lambda: outer.append(redactor('hunter2-is-the-password')), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), 'redaction deadlocked on its own lock'
    assert nested == ['a finalizer logs ***'] and outer == ['***']
