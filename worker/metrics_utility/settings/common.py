"""Where data lives: METRICS_UTILITY_SHIP_TARGET / SHIP_PATH and the S3 bucket variables (shared by gather and
build-report). Parsing collects every problem and raises one `ConfigError` that lists them all, each naming the
variable and what is expected, so a person fixes the environment in one go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metrics_utility.contract import PREFIX
from metrics_utility.library import secret

from .messages import (  # noqa: F401 - re-exported: the helpers' historical home
    SHOWN_CHARS,
    ConfigError,
    is_directory,
    nul_problems,
    shown,
    shown_name,
    shown_number,
    whole_number,
)
from .variables import declared

if TYPE_CHECKING:
    from .environment import Environment

_BUCKET = re.compile(r'[a-zA-Z0-9.\-_]{1,255}')  # what botocore accepts (its own error is a page of regexes)


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None  # METRICS_UTILITY_CA_BUNDLE (checked by settings.network); None: botocore's default


@dataclass(frozen=True)
class ShipSettings:
    target: str
    path: str
    s3: S3Settings | None = None

    def storage(self, **s3_options: Any):  # -> Storage (imported lazily: S3 support may live in another module)
        """The Storage for this target; `s3_options` (retries, timeouts) tune an S3 client, e.g. for a quick probe."""
        if self.target in ('directory', 'controller_db'):  # controller_db: reports go to the directory
            from metrics_utility.library.storage import StorageDirectory

            return StorageDirectory(self.path)
        if self.target == 's3':
            try:
                from metrics_utility.library.storage import StorageS3  # type: ignore[attr-defined]
            except ImportError as exc:
                raise ConfigError(
                    [f'{PREFIX}SHIP_TARGET=s3: S3 storage is not available in this build ({exc})']
                ) from exc
            s3 = self.s3
            assert s3 is not None
            return StorageS3(
                bucket=s3.bucket,
                endpoint=s3.endpoint,
                region=s3.region,
                access_key=s3.access_key,
                secret_key=s3.secret_key,
                prefix=self.path,
                verify_cert_path=s3.ca_bundle,
                **s3_options,
            )
        raise ConfigError([f'{PREFIX}SHIP_TARGET={self.target!r} cannot be read from'])


def ship_settings(
    env: Mapping[str, str] | Environment,
    targets: tuple[str, ...],
    problems: list[str],
    *,
    path_must_exist: bool = False,
) -> ShipSettings | None:
    """Parse the ship target, path and bucket variables, appending problems (returns None if unusable)."""
    from .environment import Environment

    env = Environment.of(env)
    target = env.text('METRICS_UTILITY_SHIP_TARGET') or ''
    if not target:
        problems.append(f'{PREFIX}SHIP_TARGET is not set; expected one of: {", ".join(targets)}')
        return None
    if target not in targets:
        problems.append(
            f'{PREFIX}SHIP_TARGET={shown(target)} is not supported here; expected one of: {", ".join(targets)}'
        )
        return None
    path = env.text('METRICS_UTILITY_SHIP_PATH') or ''
    s3 = None
    if target in ('directory', 'controller_db'):  # build-report's controller_db writes to the directory too
        if not path:
            problems.append(f'{PREFIX}SHIP_PATH is not set; expected the directory holding data/ and reports/')
        elif path_must_exist and not is_directory(path):
            problems.append(f'{PREFIX}SHIP_PATH={shown(path)} is not an existing directory')
    elif target == 's3':
        bucket = env.text('METRICS_UTILITY_BUCKET_NAME') or ''
        endpoint = env.text('METRICS_UTILITY_BUCKET_ENDPOINT') or ''
        if not bucket:
            problems.append(f'{PREFIX}BUCKET_NAME is not set; expected the S3 bucket name')
        elif not _BUCKET.fullmatch(bucket):
            problems.append(
                f'{PREFIX}BUCKET_NAME={shown(bucket)} is not a bucket name; expected up to 255 letters, '
                'digits, dots, hyphens and underscores'
            )
        if not endpoint:
            problems.append(
                f'{PREFIX}BUCKET_ENDPOINT is not set; expected a URL like https://s3.us-east-1.amazonaws.com'
            )
        elif problem := endpoint_credentials(endpoint):
            problems.append(problem)
            endpoint = ''
        elif not endpoint.startswith(('http://', 'https://')):
            problems.append(f'{PREFIX}BUCKET_ENDPOINT={shown(endpoint)} is not a URL; expected http(s)://host[:port]')
        s3 = s3_credentials(env, bucket, endpoint, problems)
    return ShipSettings(target, path, s3)


def s3_credentials(env: Environment, bucket: str, endpoint: str, problems: list[str] | None) -> S3Settings:
    """The S3 service of the main storage (region and keys) for `bucket`; the keys are registered as secrets.
    `problems` is None for an additional source, which shares the keys already checked for the main storage."""
    access = env.text('METRICS_UTILITY_BUCKET_ACCESS_KEY') or ''
    secret_key = env.text('METRICS_UTILITY_BUCKET_SECRET_KEY') or ''
    secret.register(access, secret_key)  # logs and the run summary hide both (botocore logs the key id)
    if problems is not None and bool(access) != bool(secret_key):
        problems.append(
            f'{PREFIX}BUCKET_ACCESS_KEY and {PREFIX}BUCKET_SECRET_KEY must be set together (or '
            'neither, for the implicit AWS credentials)'
        )
    region = env.text('METRICS_UTILITY_BUCKET_REGION')
    return S3Settings(
        bucket, endpoint, region, access or None, secret_key or None, env.text('METRICS_UTILITY_CA_BUNDLE')
    )


def endpoint_credentials(endpoint: str) -> str | None:
    """The problem of an S3 endpoint holding `user:password@` (never echoed), or None."""
    variable = declared('METRICS_UTILITY_BUCKET_ENDPOINT')
    return secret.url_credentials_problem(variable.name, endpoint, variable.instead or '')
