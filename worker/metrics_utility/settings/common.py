"""Where data lives: METRICS_UTILITY_SHIP_TARGET / SHIP_PATH and the S3 bucket variables (shared by gather and
build-report). Parsing collects every problem and raises one `ConfigError` that lists them all, each naming the
variable and what is expected, so a person fixes the environment in one go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from metrics_utility.library import secret
from metrics_utility.library.errors import BAD_INPUT, MetricsUtilityError

PREFIX = 'METRICS_UTILITY_'
SHOWN_CHARS = 200  # a value longer than this is cut in messages: one readable line, never a wall of text
_BUCKET = re.compile(r'[a-zA-Z0-9.\-_]{1,255}')  # what botocore accepts (its own error is a page of regexes)
_WHOLE = re.compile(r'[+-]?[0-9]{1,30}')  # ASCII digits only: int() would also take '٣', '1_000' and ' 12 '


class ConfigError(MetricsUtilityError, ValueError):
    """One or more settings are wrong; `problems` lists them."""

    exit_code = BAD_INPUT

    @property
    def message(self) -> str:
        return str(self)  # every problem, one per line

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__('invalid configuration:\n' + '\n'.join(f'  - {p}' for p in problems))


@dataclass(frozen=True)
class S3Settings:
    bucket: str
    endpoint: str
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ShipSettings:
    target: str
    path: str
    s3: S3Settings | None = None

    def storage(self):  # -> Storage (imported lazily: S3 support may live in another module)
        """The Storage for this target."""
        if self.target == 'directory':
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
            return StorageS3(bucket=s3.bucket, endpoint=s3.endpoint, region=s3.region, access_key=s3.access_key,
                             secret_key=s3.secret_key, prefix=self.path)  # fmt: skip
        raise ConfigError([f'{PREFIX}SHIP_TARGET={self.target!r} cannot be read from'])


def text(env: Mapping[str, str], name: str) -> str:
    return env.get(PREFIX + name, '').strip()


def shown(value: str) -> str:
    """`value` quoted for a message, cut to SHOWN_CHARS (control characters and NUL bytes escaped by repr)."""
    if len(value) > SHOWN_CHARS:
        return repr(value[:SHOWN_CHARS]) + f'… ({len(value)} characters)'
    return repr(value)


def whole_number(raw: str, low: int, high: int) -> int | None:
    """`raw` as a whole number in [low, high], or None: ASCII digits with an optional sign, surrounding spaces
    allowed. Flags and variables go through this one check so that both accept exactly the same values."""
    value = raw.strip()
    if not _WHOLE.fullmatch(value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def shown_number(raw: str) -> str:
    """A whole number as itself (DB_PORT=99999), anything else quoted and cut as `shown` does."""
    return raw.strip() if _WHOLE.fullmatch(raw.strip()) else shown(raw)


def shown_name(name: str) -> str:
    """A name (collector key, sheet) as itself when short and printable, else quoted and cut."""
    return name if name.isprintable() and len(name) <= SHOWN_CHARS else shown(name)


def nul_problems(values: Mapping[str, str]) -> list[str]:
    """A NUL byte cannot reach a process from a real environment or command line, and no library takes it."""
    return [f'{name} contains a NUL byte; remove it' for name, value in values.items() if '\x00' in value]


def is_directory(path: str) -> bool:
    """Path.is_dir() that answers False, never raises, for names the OS refuses (too long, NUL bytes)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def ship_settings(env: Mapping[str, str], targets: tuple[str, ...], problems: list[str], *,
                  path_must_exist: bool = False) -> ShipSettings | None:  # fmt: skip
    """Parse the ship target, path and bucket variables, appending problems (returns None if unusable)."""
    target = text(env, 'SHIP_TARGET')
    if not target:
        problems.append(f'{PREFIX}SHIP_TARGET is not set; expected one of: {", ".join(targets)}')
        return None
    if target not in targets:
        problems.append(
            f'{PREFIX}SHIP_TARGET={shown(target)} is not supported here; expected one of: {", ".join(targets)}'
        )
        return None
    path = text(env, 'SHIP_PATH')
    s3 = None
    if target == 'directory':
        if not path:
            problems.append(f'{PREFIX}SHIP_PATH is not set; expected the directory holding data/ and reports/')
        elif path_must_exist and not is_directory(path):
            problems.append(f'{PREFIX}SHIP_PATH={shown(path)} is not an existing directory')
    elif target == 's3':
        bucket, endpoint = text(env, 'BUCKET_NAME'), text(env, 'BUCKET_ENDPOINT')
        access, secret_key = text(env, 'BUCKET_ACCESS_KEY'), text(env, 'BUCKET_SECRET_KEY')
        secret.register(access, secret_key)  # logs and the run summary hide both (botocore logs the key id)
        if not bucket:
            problems.append(f'{PREFIX}BUCKET_NAME is not set; expected the S3 bucket name')
        elif not _BUCKET.fullmatch(bucket):
            problems.append(f'{PREFIX}BUCKET_NAME={shown(bucket)} is not a bucket name; expected up to 255 letters, '
                            'digits, dots, hyphens and underscores')  # fmt: skip
        if not endpoint:
            problems.append(
                f'{PREFIX}BUCKET_ENDPOINT is not set; expected a URL like https://s3.us-east-1.amazonaws.com'
            )
        elif problem := endpoint_credentials(endpoint):
            problems.append(problem)
            endpoint = ''
        elif not endpoint.startswith(('http://', 'https://')):
            problems.append(f'{PREFIX}BUCKET_ENDPOINT={shown(endpoint)} is not a URL; expected http(s)://host[:port]')
        if bool(access) != bool(secret_key):
            problems.append(f'{PREFIX}BUCKET_ACCESS_KEY and {PREFIX}BUCKET_SECRET_KEY must be set together (or '
                            'neither, for the implicit AWS credentials)')  # fmt: skip
        s3 = S3Settings(bucket, endpoint, text(env, 'BUCKET_REGION') or None, access or None, secret_key or None)
    return ShipSettings(target, path, s3)


def endpoint_credentials(endpoint: str) -> str | None:
    """The problem of an S3 endpoint holding `user:password@` (never echoed), or None."""
    return secret.url_credentials_problem(
        f'{PREFIX}BUCKET_ENDPOINT', endpoint, f'give the keys in {PREFIX}BUCKET_ACCESS_KEY/SECRET_KEY instead'
    )
