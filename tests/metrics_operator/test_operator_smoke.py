from __future__ import annotations

import aiohttp
import pytest

from testsupport.operator_runner import eventually
from testsupport.operator_samples import claim, collection, db_secret

pytestmark = pytest.mark.integration


async def post(api, path, body):
    async with aiohttp.ClientSession() as s, s.post(str(api.url).rstrip('/') + path, json=body) as r:
        assert r.status < 400, await r.text()
        return await r.json()


async def test_smoke(kube_api, operator):
    await post(kube_api, '/api/v1/namespaces/default/secrets', db_secret())
    await post(kube_api, '/api/v1/namespaces/default/persistentvolumeclaims', claim())
    await post(kube_api, '/apis/metrics.aap.dev/v1alpha1/namespaces/default/metricscollections', collection())

    def ready():
        mc = kube_api.get_object('metricscollections', 'default', 'controller')
        conds = {c['type']: c for c in (mc.get('status') or {}).get('conditions', [])}
        return conds.get('Ready', {}).get('status') == 'True' and mc

    mc = await eventually(ready, what='Ready')
    print(mc)
    print([c['metadata']['name'] for c in kube_api.stored('cronjobs')])
