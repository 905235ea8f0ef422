"""StorageS3 against moto's S3 server over HTTP: round trip, prefix, multipart, retries, failures, secrets."""

from __future__ import annotations

import io
import os

import pytest

from metrics_utility.library.storage import StorageError, StorageS3
from testsupport.s3_server import ACCESS_KEY, SECRET_KEY, FaultyS3Proxy, S3Server
from testsupport.secrets import assert_secret_free, exception_texts, logged

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


def storage(endpoint: str, bucket: str, **kwargs) -> StorageS3:
    kwargs.setdefault('access_key', ACCESS_KEY)
    kwargs.setdefault('secret_key', SECRET_KEY)
    return StorageS3(bucket, endpoint=endpoint, region='us-east-1', **kwargs)


def test_round_trip_with_every_payload_kind_and_prefix(s3_server: S3Server, bucket: str, tmp_path, caplog):
    s3 = storage(s3_server.endpoint, bucket, prefix='/ship/')
    src = tmp_path / 'a.tar.gz'
    src.write_bytes(b'\x1f\x8b binary \x00\xff')
    s3.put('data/2024/02/29/a.tar.gz', filename=src)
    s3.put('data/2024/02/29/b.json', dict={'rows': 3})
    s3.put('data/2024/03/01/c.bin', fileobj=io.BytesIO(b'stream'))

    assert s3.glob('data/2024/*/*/*') == ['data/2024/02/29/a.tar.gz', 'data/2024/02/29/b.json', 'data/2024/03/01/c.bin']
    assert s3.glob('data/2024/02/2?/*.tar.gz') == ['data/2024/02/29/a.tar.gz']
    assert s3.glob('data/*') == []  # `*` never crosses a `/`
    keys = [o['Key'] for o in s3_server.client().list_objects_v2(Bucket=bucket)['Contents']]
    assert sorted(keys) == [
        'ship/data/2024/02/29/a.tar.gz',
        'ship/data/2024/02/29/b.json',
        'ship/data/2024/03/01/c.bin',
    ]

    with s3.get('data/2024/02/29/a.tar.gz') as path:
        assert path.read_bytes() == b'\x1f\x8b binary \x00\xff'
        kept = path
    assert not kept.exists(), 'the downloaded temporary file is removed after the block'
    with s3.get('data/2024/02/29/b.json') as path:
        assert '"rows": 3' in path.read_text()

    assert s3.exists('data/2024/03/01/c.bin')
    s3.remove('data/2024/03/01/c.bin')
    s3.remove('data/2024/03/01/c.bin')  # removing a missing object is fine
    assert not s3.exists('data/2024/03/01/c.bin')
    with pytest.raises(StorageError, match='not found') as excinfo, s3.get('data/2024/03/01/c.bin'):
        pass

    assert s3.describe() == f'S3 s3://{bucket}/ship/ at {s3_server.endpoint}'
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value), s3.describe()], [SECRET_KEY])
    assert_secret_free([s3.describe(), *exception_texts(excinfo.value)], [ACCESS_KEY])


def test_same_name_overwrites_and_prefixes_keep_targets_apart(s3_server: S3Server, bucket: str):
    one, two = storage(s3_server.endpoint, bucket, prefix='one'), storage(s3_server.endpoint, bucket, prefix='two')
    one.put('reports/x.json', dict={'v': 1})
    one.put('reports/x.json', dict={'v': 2})
    two.put('reports/y.json', dict={'v': 3})
    assert one.glob('reports/*') == ['reports/x.json']
    assert two.glob('reports/*') == ['reports/y.json']
    assert len(s3_server.client().list_objects_v2(Bucket=bucket, Prefix='one/')['Contents']) == 1
    with one.get('reports/x.json') as path:
        assert '"v": 2' in path.read_text()


def test_glob_pages_through_long_listings(s3_server: S3Server, faulty_s3: FaultyS3Proxy, bucket: str):
    s3 = storage(faulty_s3.endpoint, bucket, list_page_size=10)
    client = s3_server.client()
    for i in range(25):  # three pages
        client.put_object(Bucket=bucket, Key=f'data/2024/01/01/{i:02d}.tar.gz', Body=b'')
    client.put_object(Bucket=bucket, Key='data/2024/01/010/odd.tar.gz', Body=b'')  # same literal prefix, no match
    assert s3.glob('data/2024/01/01/*.tar.gz') == [f'data/2024/01/01/{i:02d}.tar.gz' for i in range(25)]
    assert len([s for s in faulty_s3.seen if s.method == 'GET' and 'list-type=2' in s.path]) == 3


def test_big_file_goes_up_in_parts(s3_server: S3Server, bucket: str, tmp_path):
    s3 = storage(s3_server.endpoint, bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = tmp_path / 'big.tar.gz'
    content = os.urandom(11 * MiB)
    big.write_bytes(content)
    s3.put('data/big.tar.gz', filename=big)
    head = s3_server.client().head_object(Bucket=bucket, Key='data/big.tar.gz')
    assert head['ETag'].strip('"').endswith('-3'), 'a multipart upload of 3 parts (5 + 5 + 1 MiB)'
    with s3.get('data/big.tar.gz') as path:
        assert path.read_bytes() == content


def test_transient_500s_are_retried_until_the_upload_succeeds(faulty_s3: FaultyS3Proxy, s3_server, bucket, tmp_path):
    s3 = storage(faulty_s3.endpoint, bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = tmp_path / 'big.tar.gz'
    content = os.urandom(11 * MiB)
    big.write_bytes(content)
    faulty_s3.fail(2, when=lambda method, path: method == 'PUT' and 'partNumber=2' in path)
    s3.put('data/big.tar.gz', filename=big)
    part_two = [s.status for s in faulty_s3.seen if s.method == 'PUT' and 'partNumber=2' in s.path]
    assert part_two == [500, 500, 200]

    faulty_s3.fail(3, when=lambda method, path: method == 'PUT')
    s3.put('small.json', dict={'ok': True})
    assert [s.status for s in faulty_s3.seen if s.path.endswith('/small.json')] == [500, 500, 500, 200]
    with storage(s3_server.endpoint, bucket).get('data/big.tar.gz') as path:
        assert path.read_bytes() == content


def test_persistent_500s_raise_instead_of_being_swallowed(faulty_s3: FaultyS3Proxy, bucket: str, caplog):
    s3 = storage(faulty_s3.endpoint, bucket, max_attempts=3)
    faulty_s3.fail(None, when=lambda method, path: method == 'PUT')
    with pytest.raises(StorageError, match=r'cannot upload data/x.json in S3 .*InternalError') as excinfo:
        s3.put('data/x.json', dict={'x': 1})
    assert [s.status for s in faulty_s3.seen] == [500, 500, 500]
    faulty_s3.fail(0)
    assert not s3.exists('data/x.json')
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], [SECRET_KEY])


def test_unreachable_endpoint_raises_a_clear_error(caplog):
    s3 = storage('http://127.0.0.1:9', 'bucket', max_attempts=2, connect_timeout=2)
    with pytest.raises(
        StorageError,
        match=r'cannot upload x.json in S3 s3://bucket/ at http://127.0.0.1:9: cannot '
        r'connect to http://127.0.0.1:9',
    ) as excinfo:
        s3.put('x.json', dict={})
    with pytest.raises(StorageError, match='cannot list'):
        s3.glob('*')
    assert_secret_free([*logged(caplog), *exception_texts(excinfo.value)], [SECRET_KEY])


def test_a_missing_bucket_is_named(s3_server: S3Server, bucket: str):
    with pytest.raises(StorageError, match="bucket 'no-such-bucket' does not exist"):
        storage(s3_server.endpoint, 'no-such-bucket').put('x.json', dict={})


def test_credentials_both_or_neither(s3_server: S3Server, bucket: str, monkeypatch):
    with pytest.raises(StorageError, match='got access_key without secret_key'):
        StorageS3(bucket, endpoint=s3_server.endpoint, access_key=ACCESS_KEY)
    with pytest.raises(StorageError, match='got secret_key without access_key') as excinfo:
        StorageS3(bucket, endpoint=s3_server.endpoint, secret_key=SECRET_KEY)
    assert_secret_free(exception_texts(excinfo.value), [SECRET_KEY])

    implicit = StorageS3(bucket, endpoint=s3_server.endpoint, region='us-east-1')
    with pytest.raises(StorageError, match='no S3 credentials found'):
        implicit.put('x.json', dict={})
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', ACCESS_KEY)  # the implicit chain: environment variables here
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', SECRET_KEY)
    implicit = StorageS3(bucket, endpoint=s3_server.endpoint, region='us-east-1')
    implicit.put('x.json', dict={'implicit': True})
    assert implicit.exists('x.json')


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [({'bucket': ''}, 'needs a bucket name'), ({'bucket': 'b', 'endpoint': 'minio:9000'}, 'is not a URL')],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(StorageError, match=message):
        StorageS3(**kwargs)


def test_names_cannot_escape_the_prefix(s3_server: S3Server, bucket: str):
    with pytest.raises(StorageError, match='invalid object name'):
        storage(s3_server.endpoint, bucket, prefix='ship').put('../other/x.json', dict={})


# describe() and every error name the endpoint: one holding credentials is refused without repeating it.
ENDPOINT_CREDENTIALS = {
    'user and secret key': f'https://{ACCESS_KEY}:{SECRET_KEY}@s3.example.com',
    'percent-encoded secret key': f'https://{ACCESS_KEY}:{SECRET_KEY.replace("-", "%2D")}@s3.example.com',
    'access key only': f'http://{ACCESS_KEY}@127.0.0.1:9000',
}


@pytest.mark.hostile
@pytest.mark.parametrize('endpoint', ENDPOINT_CREDENTIALS.values(), ids=list(ENDPOINT_CREDENTIALS))
def test_an_endpoint_holding_credentials_is_refused_without_echo(endpoint):
    from testsupport.secrets import assert_no_secret

    with pytest.raises(StorageError) as caught:
        StorageS3('b', endpoint=endpoint)
    assert str(caught.value) == (
        'S3 endpoint must not hold credentials (user:password@host): give access_key and secret_key'
    )
    assert_no_secret(exception_texts(caught.value), SECRET_KEY, ACCESS_KEY)


def test_put_if_unchanged_is_a_compare_and_swap(s3_server: S3Server, bucket: str):
    s3 = storage(s3_server.endpoint, bucket, prefix='billing')
    assert s3.read_tagged('state/w.json') is None
    assert s3.put_if_unchanged('state/w.json', b'first', None)  # created
    assert not s3.put_if_unchanged('state/w.json', b'again', None)  # exists: If-None-Match refuses
    content, tag = s3.read_tagged('state/w.json')
    assert content == b'first'
    assert s3.put_if_unchanged('state/w.json', b'second', tag)
    assert not s3.put_if_unchanged('state/w.json', b'stale', tag)  # changed since `tag` was read
    assert s3.read_tagged('state/w.json')[0] == b'second'


def test_age_is_measured_by_the_servers_clock(s3_server: S3Server, bucket: str):
    s3 = storage(s3_server.endpoint, bucket)
    assert s3.age('state/lease') is None
    tag = s3.put_if_unchanged('state/lease', b'x', None)
    etag, seconds = s3.age('state/lease')
    assert etag == tag and 0 <= seconds < 5
