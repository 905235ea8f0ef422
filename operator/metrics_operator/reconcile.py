"""Bring a collection's children in line with its spec. The only module (with `handlers`) that writes to the API.

Order matters: the spec is validated and every referenced Secret/claim/ConfigMap is checked *before* anything is
written, so a bad spec never produces a broken CronJob. Applying is idempotent: an object is patched only when its
rendered content hash changed, so resumes and repeated runs write nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from metrics_operator import dashboard, kube_client, names, network, render, spec, trust
from metrics_operator.status import ReadyState

PLURALS = {
    'ConfigMap': 'configmaps',
    'CronJob': 'cronjobs',
    'PersistentVolumeClaim': 'persistentvolumeclaims',
    'Job': 'jobs',
    'Deployment': 'deployments',
    'Service': 'services',
    'ServiceAccount': 'serviceaccounts',
    'Route': 'routes',
    'Ingress': 'ingresses',
}
# The dashboard's namespaced objects (docs/operator.md, "Dashboard"), deleted when the spec no longer asks for them.
DASHBOARD_KINDS = (
    ('apps/v1', 'deployments'),
    ('v1', 'services'),
    ('route.openshift.io/v1', 'routes'),
    ('networking.k8s.io/v1', 'ingresses'),
)


def owner_reference(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        'apiVersion': names.API_VERSION,
        'kind': names.KIND,
        'name': body['metadata']['name'],
        'uid': body['metadata']['uid'],
        'controller': True,
        'blockOwnerDeletion': True,
    }


def _url(obj: Mapping[str, Any], with_name: bool = True) -> str:
    meta = obj['metadata']
    return kube_client.path(
        obj['apiVersion'], PLURALS[obj['kind']], meta['namespace'], meta['name'] if with_name else None
    )


def _owned_by(obj: Mapping[str, Any], uid: str) -> bool:
    return any(ref.get('uid') == uid for ref in obj.get('metadata', {}).get('ownerReferences', []) or [])


def _escape(key: str) -> str:
    return key.replace('~', '~0').replace('/', '~1')


class NameConflict(Exception):
    """An object we would create already exists and belongs to someone else."""


async def apply(client: kube_client.Client, obj: dict[str, Any], owner: Mapping[str, Any]) -> str:
    """Create or update one child; returns 'created', 'updated' or 'unchanged'."""
    uid = owner['metadata']['uid']
    obj['metadata']['ownerReferences'] = [owner_reference(owner)]
    current = await client.get(_url(obj))
    if current is None:
        try:
            await client.create(_url(obj, with_name=False), obj)
            return 'created'
        except kube_client.ApiError as exc:
            if exc.status != 409:
                raise
            current = await client.get(_url(obj))  # raced with ourselves (e.g. a restart): fall through
            if current is None:
                raise
    meta = current.get('metadata', {})
    if meta.get('labels', {}).get(names.LABEL_COLLECTION) != obj['metadata']['labels'][names.LABEL_COLLECTION]:
        raise NameConflict(f'{obj["kind"]} {obj["metadata"]["name"]} exists and is not managed by this collection')
    want_hash = obj['metadata']['annotations'][names.ANNOTATION_HASH]
    if (meta.get('annotations') or {}).get(names.ANNOTATION_HASH) == want_hash and _owned_by(current, uid):
        return 'unchanged'
    ops: list[dict[str, Any]] = [
        {'op': 'test', 'path': '/metadata/resourceVersion', 'value': meta.get('resourceVersion')},
        {
            'op': 'replace' if 'labels' in meta else 'add',
            'path': '/metadata/labels',
            'value': {**(meta.get('labels') or {}), **obj['metadata']['labels']},
        },
        {'op': 'add', 'path': '/metadata/ownerReferences', 'value': obj['metadata']['ownerReferences']},
    ]
    if 'annotations' not in meta or meta['annotations'] is None:
        ops.append({'op': 'add', 'path': '/metadata/annotations', 'value': {}})
    ops.append({'op': 'add', 'path': f'/metadata/annotations/{_escape(names.ANNOTATION_HASH)}', 'value': want_hash})
    for key, value in (obj['metadata'].get('annotations') or {}).items():
        if key != names.ANNOTATION_HASH:  # rendered annotations (the dashboard Service's service-CA request)
            ops.append({'op': 'add', 'path': f'/metadata/annotations/{_escape(key)}', 'value': value})
    for key in ('spec', 'data'):
        if key in obj:
            ops.append({'op': 'add', 'path': f'/{key}', 'value': obj[key]})
    await client.json_patch(_url(obj), ops)
    return 'updated'


async def _missing_references(
    client: kube_client.Client, collection: str, namespace: str, full: Mapping[str, Any]
) -> ReadyState | None:
    for field, name in spec.secret_refs(full):
        if await client.get(kube_client.path('v1', 'secrets', namespace, name), metadata_only=True) is None:
            return ReadyState('False', 'SecretNotFound', f'{field}: Secret {name!r} not found in {namespace}')
    for field, name in spec.configmap_refs(full):
        if await client.get(kube_client.path('v1', 'configmaps', namespace, name), metadata_only=True) is None:
            return ReadyState('False', 'ConfigMapNotFound', f'{field}: ConfigMap {name!r} not found in {namespace}')
    for field, claim in spec.claim_refs(collection, full):
        if await client.get(kube_client.path('v1', 'persistentvolumeclaims', namespace, claim)) is None:
            return ReadyState(
                'False', 'ClaimNotFound', f'{field}: PersistentVolumeClaim {claim!r} not found in {namespace}'
            )
    return None


async def ensure(
    client: kube_client.Client,
    body: Mapping[str, Any],
    raw_spec: Mapping[str, Any],
    image: str,
    logger: logging.Logger,
    allowed: trust.Allowed | None = None,
    operator_proxy: Mapping[str, str] | None = None,
    dashboard_auth_role: str | None = None,
) -> ReadyState:
    """Reconcile the children of one collection; the returned state becomes the `Ready` condition.

    `allowed` says which other images and service accounts a spec may ask for (default: none); `operator_proxy` is
    the operator's own proxy variables, which `spec.proxy.fromOperator` passes on (`network`);
    `dashboard_auth_role` is the chart's ClusterRole for token and access reviews (None: the chart's
    `dashboard.networkMode` is off, so the operator neither may nor does touch ServiceAccounts and bindings)."""
    name, namespace = body['metadata']['name'], body['metadata']['namespace']
    try:
        full = spec.validate(name, raw_spec)
    except spec.SpecError as exc:
        return ReadyState('False', 'InvalidSpec', str(exc))
    found = network.problem(full, operator_proxy)
    if found is not None:
        return ReadyState('False', 'InvalidSpec', f'{found[0]}: {found[1]}')
    full = dict(network.resolved(full, operator_proxy or {}))
    refused = trust.refusal(full, allowed or trust.Allowed(image))
    if refused is not None:  # before anything is written: existing CronJobs keep what was allowed
        return ReadyState('False', refused.reason, refused.message)
    if dashboard.network_mode(full) and not dashboard_auth_role:
        return ReadyState(
            'False',
            'DashboardNetworkModeOff',
            'spec.dashboard.network.enabled: the operator was installed without the rights network mode needs '
            '(set the chart value dashboard.networkMode to true), or use the default port-forward access',
        )
    missing = await _missing_references(client, name, namespace, full)
    if missing is not None:
        return missing
    claim = render.claim(name, namespace, full)
    if claim is not None and await client.get(_url(claim)) is None:
        # No ownerReference: deleting the collection must not delete collected data (see `cleanup`).
        await client.create(_url(claim, with_name=False), claim)
        logger.info('Created PersistentVolumeClaim %s', claim['metadata']['name'])
    results = {}
    objects = render.desired(name, namespace, full, image)
    try:
        for obj in objects:
            results[f'{obj["kind"]} {obj["metadata"]["name"]}'] = await apply(client, obj, body)
    except NameConflict as exc:
        return ReadyState('False', 'NameConflict', str(exc))
    backfill = render.backfill_job(name, namespace, full, image)
    if backfill is not None and await client.get(_url(backfill)) is None:
        # Create once, never patch (a Job is immutable); a new request has a new name. See docs/scale.md.
        backfill['metadata']['ownerReferences'] = [owner_reference(body)]
        await client.create(_url(backfill, with_name=False), backfill)
        logger.info('Created backfill Job %s', backfill['metadata']['name'])
    try:
        await _dashboard_access(client, body, full, dashboard_auth_role, logger)
    except NameConflict as exc:
        return ReadyState('False', 'NameConflict', str(exc))
    kept = {PLURALS[obj['kind']] for obj in objects}
    for api_version, plural in DASHBOARD_KINDS:
        if plural not in kept:
            await _delete_owned(client, api_version, plural, namespace, dashboard.name(name), body)
    wanted = set(spec.enabled_kinds(full))
    for kind in names.JOB_KINDS:
        if kind not in wanted:
            await _delete_owned(client, 'batch/v1', 'cronjobs', namespace, names.cronjob_name(name, kind), body)
    changed = {k: v for k, v in results.items() if v != 'unchanged'}
    if changed:
        logger.info('Applied %s', ', '.join(f'{k} ({v})' for k, v in sorted(changed.items())))
    kinds = ', '.join(sorted(wanted))
    suspended = ' (suspended)' if full['suspend'] else ''
    return ReadyState('True', 'Reconciled', f'CronJobs for {kinds} are in place{suspended}')


async def _dashboard_access(
    client: kube_client.Client,
    body: Mapping[str, Any],
    full: Mapping[str, Any],
    auth_role: str | None,
    logger: logging.Logger,
) -> None:
    """Network mode's ClusterRoleBinding (created, or replaced when its role changed); without network mode, the
    binding and the ServiceAccount go. Nothing at all without the chart's `dashboard.networkMode`."""
    if not auth_role:
        return
    name, namespace = body['metadata']['name'], body['metadata']['namespace']
    url = kube_client.cluster_path('rbac.authorization.k8s.io/v1', 'clusterrolebindings')
    wanted = dashboard.cluster_binding(name, namespace, auth_role)
    current = await client.get(f'{url}/{wanted["metadata"]["name"]}')
    ours = current is not None and current['metadata'].get('labels', {}).get(dashboard.NAMESPACE_LABEL) == namespace
    if dashboard.network_mode(full):
        if ours and (current['roleRef'], current['subjects']) == (wanted['roleRef'], wanted['subjects']):
            return
        if ours:  # roleRef is immutable: replace the binding
            await client.delete(f'{url}/{wanted["metadata"]["name"]}')
        elif current is not None:
            raise NameConflict(f'ClusterRoleBinding {wanted["metadata"]["name"]} exists and is not managed by us')
        await client.create(url, wanted)
        logger.info('Bound ServiceAccount %s to ClusterRole %s', dashboard.name(name), auth_role)
        return
    if ours:
        await client.delete(f'{url}/{wanted["metadata"]["name"]}')
    await _delete_owned(client, 'v1', 'serviceaccounts', namespace, dashboard.name(name), body)


async def _delete_owned(
    client: kube_client.Client, api_version: str, plural: str, namespace: str, name: str, owner: Mapping[str, Any]
) -> bool:
    url = kube_client.path(api_version, plural, namespace, name)
    current = await client.get(url)
    if current is None or not _owned_by(current, owner['metadata']['uid']):
        return False
    return await client.delete(url)


async def cleanup(
    client: kube_client.Client,
    body: Mapping[str, Any],
    raw_spec: Mapping[str, Any],
    logger: logging.Logger,
    dashboard_auth_role: str | None = None,
) -> None:
    """Delete what the collection owns. A claim the user supplied is never touched; the operator's own claim only
    with `reclaimPolicy: Delete` (of `storage.directory` or `storage.crc.state`)."""
    name, namespace = body['metadata']['name'], body['metadata']['namespace']
    for kind in names.JOB_KINDS:
        await _delete_owned(client, 'batch/v1', 'cronjobs', namespace, names.cronjob_name(name, kind), body)
    await _delete_owned(client, 'v1', 'configmaps', namespace, names.configmap_name(name), body)
    await _delete_owned(client, 'v1', 'configmaps', namespace, network.trusted_ca_configmap_name(name), body)
    for api_version, plural in DASHBOARD_KINDS:
        await _delete_owned(client, api_version, plural, namespace, dashboard.name(name), body)
    if dashboard_auth_role:
        await _dashboard_access(client, body, {}, dashboard_auth_role, logger)
    found = spec.claim_block(spec.with_defaults(raw_spec))
    block = found[1] if found else {}
    if block.get('size') and not block.get('claimName'):
        claim = names.claim_name(name)
        if block.get('reclaimPolicy') == 'Delete':
            url = kube_client.path('v1', 'persistentvolumeclaims', namespace, claim)
            current = await client.get(url)
            if current and current['metadata'].get('labels', {}).get(names.LABEL_COLLECTION) == name:
                await client.delete(url)
                logger.info('Deleted PersistentVolumeClaim %s (reclaimPolicy Delete)', claim)
        else:
            logger.info('Kept PersistentVolumeClaim %s (reclaimPolicy Retain)', claim)
