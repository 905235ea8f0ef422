"""Fixtures for the operator tests. `kube_api` is the strict Kubernetes API emulator (kmock) on a local port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from metrics_operator.config import OperatorConfig
from testsupport.cronjob_controller import FakeCronJobController
from testsupport.kube_api import ApiRequest, StrictKubernetesEmulator, serving_emulator
from testsupport.kubectl import extract_kubectl
from testsupport.operator_runner import OperatorRun

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = ROOT / 'deploy' / 'crds' / 'metricscollections.metrics.aap.dev.yaml'
NAMESPACE = 'default'


@pytest.fixture(scope='session')
def crd() -> dict:
    return yaml.safe_load(CRD_PATH.read_text())


@pytest.fixture(scope='session')
def crd_schema(crd: dict) -> dict:
    return crd['spec']['versions'][0]['schema']['openAPIV3Schema']


@pytest_asyncio.fixture
async def kube_api() -> AsyncIterator[StrictKubernetesEmulator]:
    """The strict emulator, serving discovery for the bundled built-ins and our CRD. `kube_api.requests_log` holds
    every request (verb, group, resource, subresource, namespace, name, user agent)."""
    async with serving_emulator() as api:
        yield api


@pytest.fixture
def operator_requests(kube_api: StrictKubernetesEmulator) -> list[ApiRequest]:
    """The live list of requests the operator sent (Kopf and the operator's own client), for RBAC proofs."""

    class _View(list):
        def __iter__(self):  # always current
            return iter([r for r in kube_api.requests_log if r.user_agent.startswith(('kopf', 'metrics-operator'))])

        def __len__(self) -> int:
            return len(list(iter(self)))

    return _View()


@pytest.fixture
def operator_config() -> OperatorConfig:
    return OperatorConfig(
        worker_image='registry.example/metrics-utility:test',
        allowed_images=('registry.example/metrics-utility:approved',),
        allowed_service_accounts=('metrics-worker',),
        status_interval=0.2,
        retry_interval=0.3,
        metrics_port=0,
        liveness=None,
    )


@pytest_asyncio.fixture
async def operator(kube_api: StrictKubernetesEmulator, operator_config: OperatorConfig) -> AsyncIterator[OperatorRun]:
    run = OperatorRun(kube_api.url, operator_config, namespaces=(NAMESPACE,))
    await run.start()
    try:
        yield run
    finally:
        await run.stop()


@pytest.fixture
def cronjobs(kube_api: StrictKubernetesEmulator) -> FakeCronJobController:
    return FakeCronJobController(str(kube_api.url))


@pytest.fixture(scope='session')
def kubectl_bin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield extract_kubectl(tmp_path_factory.mktemp('bin'))
