"""End to end on a real cluster (kind): image, CRD, operator (any UID, read-only root), a collection, a triggered Job.

Needs `kind`, `kubectl`, and a container engine (docker or podman); skipped with the reason otherwise."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
ENGINE = next((e for e in ('docker', 'podman') if shutil.which(e)), None)


def _engine_answers(engine: str) -> bool:
    try:
        return subprocess.run([engine, 'info'], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _missing() -> str | None:
    if ENGINE is None:
        return 'no container engine (docker or podman) on PATH: kind cannot run here'
    if not _engine_answers(ENGINE):
        return f'`{ENGINE} info` fails: the {ENGINE} client is installed but no container engine is running'
    if shutil.which('kind') is None:
        return 'kind is not installed'
    if shutil.which('kubectl') is None:
        return 'kubectl is not on PATH'
    return None


requires_cluster = pytest.mark.skipif(_missing() is not None, reason=_missing() or '')

# The operator pod as OpenShift's restricted-v2 SCC runs it: an arbitrary UID in group 0, a read-only root and an
# emptyDir at /tmp (the image's HOME and TMPDIR). The worker pods the operator creates are rendered that way already.
RESTRICTED_OPERATOR_POD = {
    'spec': {
        'template': {
            'spec': {
                'securityContext': {
                    'runAsUser': 1000650000,
                    'runAsGroup': 0,
                    'runAsNonRoot': True,
                    'seccompProfile': {'type': 'RuntimeDefault'},
                },
                'volumes': [{'name': 'tmp', 'emptyDir': {}}],
                'containers': [
                    {
                        'name': 'metrics-utility',  # `kubectl create deployment` names the container after the image
                        'volumeMounts': [{'name': 'tmp', 'mountPath': '/tmp'}],
                        'securityContext': {
                            'readOnlyRootFilesystem': True,
                            'allowPrivilegeEscalation': False,
                            'capabilities': {'drop': ['ALL']},
                        },
                    }
                ],
            }
        }
    }
}


def run(*args: str, **kwargs) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=600, **kwargs).stdout


@pytest.fixture(scope='module')
def cluster():
    name = f'mu-e2e-{uuid.uuid4().hex[:6]}'
    run('kind', 'create', 'cluster', '--name', name, '--wait', '120s')
    try:
        image = 'metrics-utility:e2e'
        run(ENGINE, 'build', '-t', image, str(ROOT))
        run('kind', 'load', 'docker-image', image, '--name', name)
        yield name, image
    finally:
        run('kind', 'delete', 'cluster', '--name', name)


@requires_cluster
def test_collection_becomes_ready_and_a_gather_job_reports_back(cluster, tmp_path):
    name, image = cluster
    ctx = ['--context', f'kind-{name}']
    run('kubectl', *ctx, 'apply', '-f', str(ROOT / 'deploy' / 'crds'))
    run('kubectl', *ctx, 'create', 'deployment', 'metrics-operator', f'--image={image}')
    run(
        'kubectl',
        *ctx,
        'patch',
        'deployment/metrics-operator',
        '--type=strategic',
        f'--patch={json.dumps(RESTRICTED_OPERATOR_POD)}',
    )
    run(
        'kubectl',
        *ctx,
        'set',
        'env',
        'deployment/metrics-operator',
        f'METRICS_OPERATOR_WORKER_IMAGE={image}',
        'METRICS_OPERATOR_NAMESPACES=default',
    )
    run(
        'kubectl',
        *ctx,
        'create',
        'clusterrolebinding',
        'e2e-admin',
        '--clusterrole=cluster-admin',
        '--serviceaccount=default:default',
    )
    run('kubectl', *ctx, 'apply', '-f', str(ROOT / 'deploy' / 'examples' / 'directory.yaml'))
    run('kubectl', *ctx, 'wait', '--for=condition=Ready', '--timeout=180s', 'metricscollection/controller')
    run('kubectl', *ctx, 'create', 'job', '--from=cronjob/controller-gather', 'gather-now')
    run(
        'kubectl',
        *ctx,
        'wait',
        '--for=condition=GatherSucceeded=False',
        '--timeout=300s',
        'metricscollection/controller',
    )  # no controller database in this cluster: the failure must surface
    mc = json.loads(run('kubectl', *ctx, 'get', 'metricscollection/controller', '-o', 'json'))
    assert mc['status']['gather']['lastError']
