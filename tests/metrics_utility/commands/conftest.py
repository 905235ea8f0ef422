"""Helpers for command tests: environments pointing at the synthetic controller database, shipped row ids."""

from __future__ import annotations

import csv
import io
import tarfile
from collections import Counter
from pathlib import Path

from testsupport.s3_server import ACCESS_KEY, SECRET_KEY


def shipped_ids(tarballs: list[Path], member: str = './job_host_summary.csv') -> Counter:
    """How often each row id occurs across the given packages' CSV parts."""
    seen: Counter = Counter()
    for path in tarballs:
        with tarfile.open(path, 'r:gz') as tar:
            try:
                data = tar.extractfile(member)
            except KeyError:
                continue
            for row in csv.DictReader(io.TextIOWrapper(data, encoding='utf-8')):
                seen[int(row['id'])] += 1
    return seen


def s3_env(db, endpoint: str, bucket: str, secret_key: str = SECRET_KEY, **extra: str) -> dict[str, str]:
    """Settings that read `db` and ship to `bucket` under `billing/` of the S3 server at `endpoint`."""
    return {
        **db.reader_env(),
        'METRICS_UTILITY_SHIP_TARGET': 's3',
        'METRICS_UTILITY_SHIP_PATH': 'billing',
        'METRICS_UTILITY_BUCKET_NAME': bucket,
        'METRICS_UTILITY_BUCKET_ENDPOINT': endpoint,
        'METRICS_UTILITY_BUCKET_REGION': 'us-east-1',
        'METRICS_UTILITY_BUCKET_ACCESS_KEY': ACCESS_KEY,
        'METRICS_UTILITY_BUCKET_SECRET_KEY': secret_key,
        **extra,
    }
