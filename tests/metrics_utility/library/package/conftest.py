"""Fake collectors built with the real `@collector` decorator, and helpers to look inside packages.

CSV fakes write files of exact sizes: a 10-byte header and 10-byte rows (as the insights-analytics-collector suite
does with its 10-byte lines), so a file of `size` bytes holds `size // 10 - 1` rows.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from metrics_utility.library.collectors.base import Collector, collector
from metrics_utility.library.package.schemas import load_schema
from metrics_utility.library.package.status import parse_status_csv

SINCE = datetime(2024, 2, 29, tzinfo=UTC)
UNTIL = datetime(2024, 3, 1, tzinfo=UTC)
UUID = '2b54dd1f-6b43-4a4b-9b1b-0123456789ab'
SECRETS = ('AKIA-test-access-key-7f3e', 's3-secret-key-value-91ab', 'redhat-password-5c2d', 'url-pass-33e1')
CONFIG: dict[str, Any] = {
    'install_uuid': UUID,
    'instance_uuid': '11111111-2222-4333-8444-555555555555',
    'controller_url_base': 'https://admin:url-pass-33e1@controller.example.com/',
    'controller_version': '4.6.0',
    'license_type': 'enterprise',
    'platform': {'system': 'Linux', 'dist': ['rhel', '9.4'], 'release': '5.14', 'type': 'openshift'},
    'pendo_tracking': 'off',
    'authentication_backends': ['awx.sso.backends.LDAPBackend'],
    'REDHAT_PASSWORD': 'redhat-password-5c2d',  # must be dropped: not an allow-listed key
    'subscription_name': {'password': 'redhat-password-5c2d'},  # nested value where a scalar belongs
}
S3_PARAMS = {
    'ship_path': 'metrics',
    'bucket_name': 'billing',
    'bucket_endpoint': 'https://s3.example.com',
    'bucket_region': 'eu-1',
    'bucket_access_key': 'AKIA-test-access-key-7f3e',
    'bucket_secret_key': 's3-secret-key-value-91ab',
    'candlepin_key_pem': 'redhat-password-5c2d',
}


def write_csv(path: Path, size: int) -> Path:
    """A CSV file of exactly `size` bytes (a multiple of 10, at least 10): header + 10-byte rows."""
    assert size >= 10 and size % 10 == 0, size
    with open(path, 'w') as out:
        out.write('seq0,pad0\n')
        out.writelines(f'{i % 10000:04d},abcd\n' for i in range(size // 10 - 1))
    return path


def _csv(sizes: Sequence[int], output_dir: Path | None = None, since: datetime | None = None) -> list[Path]:
    assert output_dir is not None
    return [write_csv(output_dir / f'part{i}.csv', size) for i, size in enumerate(sizes)]


def _make_csv(key: str, default_since: datetime | None = SINCE) -> Callable[..., Collector]:
    def gather(
        sizes: Sequence[int] = (), output_dir: Path | None = None, since: datetime | None = default_since
    ) -> list[Path]:
        return _csv(sizes, output_dir, since)

    gather.__name__ = key
    return collector(key, '1.1', 'csv', kind='windowed')(gather)


csv_a = _make_csv('fake_csv_a')
csv_b = _make_csv('fake_csv_b')
csv_c = _make_csv('fake_csv_c')
csv_unwindowed = _make_csv('fake_csv_unwindowed', default_since=None)  # a collector whose since may be None
big_table = _make_csv('fake_big_table')


@collector('fake_json_a', '1.2', 'json', kind='snapshot')
def json_a(payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Returns its payload."""
    return payload


@collector('fake_json_b', '2.0', 'json', kind='snapshot')
def json_b(payload: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Returns its payload."""
    return payload


@collector('fake_failing_csv', '1.0', 'csv', kind='snapshot')
def failing_csv(message: str = 'boom', output_dir: Path | None = None) -> list[Path]:
    """Writes a file, then fails like a query would."""
    assert output_dir is not None
    write_csv(output_dir / 'partial.csv', 100)
    raise RuntimeError(message)


@collector('fake_failing_json', '1.0', 'json', kind='snapshot')
def failing_json(message: str = 'boom') -> dict[str, Any]:
    """Fails like an unreachable service."""
    raise ConnectionError(message)


@collector('fake_wrong_result', '1.0', 'csv', kind='snapshot')
def wrong_result(output_dir: Path | None = None) -> Any:
    """A CSV collector returning a dict."""
    return {'not': 'files'}


@collector('fake_interrupted', '1.0', 'csv', kind='snapshot')
def interrupted() -> list[Path]:
    """Stands for an operator pressing Ctrl-C (BaseException: Package must not swallow it)."""
    raise KeyboardInterrupt


@collector('fake_config', '2.0', 'json', kind='snapshot')
def fake_config(content: dict[str, Any] | None = None, fail: bool = False) -> dict[str, Any] | None:
    """A config collector."""
    if fail:
        raise RuntimeError('no controller settings')
    return content


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where packages go."""
    directory = tmp_path / 'out'
    directory.mkdir()
    return directory


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """Where fake collectors write their files."""
    directory = tmp_path / 'work'
    directory.mkdir()
    return directory


def members(path: Path) -> dict[str, bytes]:
    """Every member of a package by name (with the './' prefix), read with tarfile's own gzip support."""
    with tarfile.open(path, 'r:gz') as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def raw_bytes(path: Path) -> bytes:
    """The whole uncompressed tar stream (headers and padding included)."""
    return gzip.decompress(path.read_bytes())


def validate(path: Path) -> None:
    """Check every metadata member of a package against the shipped JSON schemas."""
    content = members(path)
    checker = FormatChecker()
    for name, schema in (('config', 'config'), ('manifest', 'manifest'), ('package_info', 'package_info')):
        Draft202012Validator(load_schema(schema), format_checker=checker).validate(
            json.loads(content[f'./{name}.json'])
        )
    row_schema = Draft202012Validator(load_schema('data_collection_status'), format_checker=checker)
    for row in parse_status_csv(content['./data_collection_status.csv']):
        row_schema.validate(row)


@pytest.fixture(scope='session')
def kit() -> SimpleNamespace:
    """The fakes and helpers above, for test modules (conftest modules cannot be imported by name)."""
    return SimpleNamespace(
        SINCE=SINCE,
        UNTIL=UNTIL,
        UUID=UUID,
        SECRETS=SECRETS,
        CONFIG=CONFIG,
        S3_PARAMS=S3_PARAMS,
        csv_a=csv_a,
        csv_b=csv_b,
        csv_c=csv_c,
        csv_unwindowed=csv_unwindowed,
        big_table=big_table,
        json_a=json_a,
        json_b=json_b,
        failing_csv=failing_csv,
        failing_json=failing_json,
        wrong_result=wrong_result,
        interrupted=interrupted,
        fake_config=fake_config,
        write_csv=write_csv,
        members=members,
        raw_bytes=raw_bytes,
        validate=validate,
    )
