"""Spec → Kubernetes manifests, as pure functions of the defaulted spec.

Small composable pieces (env, volumes, container, pod template, CronJob) so later work (retention, an Indexed-Job
backfill) can reuse the pod template. Nothing here talks to the API; ownership is added by the handlers.
Secrets never appear in the output: pods get `secretKeyRef`s only.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from metrics_operator import crc_identity, dashboard, dropin, names, network
from metrics_operator.names import JobKind
from metrics_operator.spec import (
    PLACEMENT_FIELDS,
    RESOURCE_DEFAULTS,
    backfill_settings,
    claim_block,
    enabled_kinds,
    main_claim_name,
    quantity_bytes,
    storage_claim_name,
)
from metrics_utility import contract

DATA_VOLUME: Final = 'data'
STATE_VOLUME: Final = 'state'
TMP_VOLUME: Final = 'tmp'
# Where crc's state claim is mounted: console.redhat.com cannot be read back, so the watermarks (and a backfill's
# completion markers, beside them) live in a file on it.
STATE_DIR: Final = '/var/lib/metrics-utility'
STATE_PATH: Final = f'{STATE_DIR}/watermarks.json'
STATE_MOUNT: Final = (STATE_VOLUME, STATE_DIR)
CA_DIR: Final = '/etc/metrics-utility/ca'
SOURCES_DIR: Final = '/sources'

# Report header fields (spec key → METRICS_UTILITY_* variable) and the two report settings beside them.
REPORT_FIELDS: Final = {
    **{field.spec_key: field.variable for field in contract.HEADER_FIELDS},
    'pricePerNode': 'PRICE_PER_NODE',
    'deduplicator': 'DEDUPLICATOR',
}


def _prefixed(values: Mapping[str, Any]) -> dict[str, str]:
    return {f'METRICS_UTILITY_{key}': str(value) for key, value in values.items() if value is not None}


def _value_env(values: Mapping[str, Any]) -> list[dict[str, str]]:
    return [{'name': key, 'value': value} for key, value in _prefixed(values).items()]


def settings(full: Mapping[str, Any]) -> dict[str, str]:
    """Non-secret settings shared by every pod, as METRICS_UTILITY_* variables (the ConfigMap's data).

    Database fields left to `spec.controller` are not here: they are `secretKeyRef` env (`dropin.database_env`)."""
    db, storage, report = full['database'], full['storage'], full['report']
    optional = [c for c in full['collectors'] if c != contract.ALWAYS_ON_COLLECTOR]
    values: dict[str, Any] = {
        'DB_HOST': db.get('host'),
        'DB_PORT': db.get('port'),
        'DB_NAME': db.get('name'),
        'DB_SSLMODE': db.get('sslMode'),
        'SHIP_TARGET': storage['type'],
        'OPTIONAL_COLLECTORS': ','.join(optional),
        'MAX_GATHER_PERIOD_DAYS': full['gather']['lookbackDays'],
        'GATHER_PARALLELISM': full['gather']['parallelism'],
        'REPORT_TYPE': report['type'],
    }
    if contract.ALWAYS_ON_COLLECTOR not in full['collectors']:
        values['DISABLE_JOB_HOST_SUMMARY_COLLECTOR'] = 'true'
    elif full.get('envFrom'):
        # spec.collectors wins over an upstream ConfigMap that turns job_host_summary off.
        values['DISABLE_JOB_HOST_SUMMARY_COLLECTOR'] = 'false'
    if storage['type'] == 'directory':
        values['SHIP_PATH'] = storage['directory']['path']
    elif storage['type'] == 's3':
        s3 = storage['s3']
        values |= {
            'SHIP_PATH': s3.get('prefix', ''),
            'BUCKET_NAME': s3['bucket'],
            'BUCKET_ENDPOINT': s3['endpoint'],
            'BUCKET_REGION': s3.get('region'),
        }
    else:
        crc = storage['crc']
        values |= {
            'BILLING_PROVIDER': 'aws',
            'BILLING_ACCOUNT_ID': crc['billingAccountId'],
            'RED_HAT_ORG_ID': crc.get('orgId'),
            'CRC_INGRESS_URL': crc.get('ingressUrl'),
            'CRC_SSO_URL': crc.get('ssoUrl'),
            'PROXY_URL': crc.get('proxyUrl'),
            # The ConfigMap is mounted into every pod (`volumes`); this is where the worker finds it.
            'CRC_CA_BUNDLE': _ca_file('crc', crc['caConfigMap']) if crc.get('caConfigMap') else None,
            # Shared settings are fine: every crc pod is a gather (reports need readable storage) and mounts the claim.
            'STATE_PATH': STATE_PATH,
        }
    values['CA_BUNDLE'] = network.ca_bundle_path(full)  # spec.trustedCA, mounted into every pod (`volumes`)
    if report.get('sheets'):
        values['OPTIONAL_CCSP_REPORT_SHEETS'] = ','.join(report['sheets'])
    if report.get('organizationFilter'):
        values['ORGANIZATION_FILTER'] = ';'.join(report['organizationFilter'])
    values |= {var: report.get(key) for key, var in REPORT_FIELDS.items()}
    return _prefixed(values)


def _secret_env(var: str, ref: Mapping[str, Any], key_field: str) -> dict[str, Any]:
    return {'name': var, 'valueFrom': {'secretKeyRef': {'name': ref['name'], 'key': ref[key_field]}}}


def secret_env(kind: JobKind, full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Credentials as `secretKeyRef`s: the values stay in their Secrets. The KPI sink's reach the gather only.

    With `spec.controller`, what `spec.database` leaves out comes from the controller's Secret."""
    creds = full['database'].get('credentialsSecret')
    env = dropin.database_env(full)
    if creds:
        env += [
            _secret_env('METRICS_UTILITY_DB_USER', creds, 'usernameKey'),
            _secret_env('METRICS_UTILITY_DB_PASSWORD', creds, 'passwordKey'),
        ]
    storage = full['storage']
    if storage['type'] == 's3' and 'credentialsSecret' in storage['s3']:
        ref = storage['s3']['credentialsSecret']
        env += [
            _secret_env('METRICS_UTILITY_BUCKET_ACCESS_KEY', ref, 'accessKeyKey'),
            _secret_env('METRICS_UTILITY_BUCKET_SECRET_KEY', ref, 'secretKeyKey'),
        ]
    if storage['type'] == 'crc' and 'serviceAccountSecret' in storage['crc']:  # optional beside a certificate
        ref = storage['crc']['serviceAccountSecret']
        env += [
            _secret_env('METRICS_UTILITY_SERVICE_ACCOUNT_ID', ref, 'clientIdKey'),
            _secret_env('METRICS_UTILITY_SERVICE_ACCOUNT_SECRET', ref, 'clientSecretKey'),
        ]
    kpi = full.get('kpi') or {}
    if kind == 'gather' and 'credentialsSecret' in kpi:
        env += [
            _secret_env('METRICS_UTILITY_ELASTICSEARCH_USERNAME', kpi['credentialsSecret'], 'usernameKey'),
            _secret_env('METRICS_UTILITY_ELASTICSEARCH_PASSWORD', kpi['credentialsSecret'], 'passwordKey'),
        ]
    if kind == 'gather' and 'apiKeySecret' in kpi:
        env.append(_secret_env('METRICS_UTILITY_ELASTICSEARCH_API_KEY', kpi['apiKeySecret'], 'key'))
    if kind == 'gather' and 'serviceAccountSecret' in (storage.get('console') or {}):
        ref = storage['console']['serviceAccountSecret']
        env += [
            _secret_env('METRICS_UTILITY_SERVICE_ACCOUNT_ID', ref, 'clientIdKey'),
            _secret_env('METRICS_UTILITY_SERVICE_ACCOUNT_SECRET', ref, 'clientSecretKey'),
        ]
    return env


def console_env(full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`storage.console`: console.redhat.com as the main gather's second target (gather/secondary.py). Pod env of the
    gather only: the vCPU gather and the report pod never send there."""
    console = full['storage'].get('console')
    if not console:
        return []
    values = {
        'SECONDARY_TARGET': 'crc',
        'BILLING_PROVIDER': 'aws',
        'BILLING_ACCOUNT_ID': console['billingAccountId'],
        'RED_HAT_ORG_ID': console.get('orgId'),
        'CRC_INGRESS_URL': console.get('ingressUrl'),
        'CRC_SSO_URL': console.get('ssoUrl'),
        'PROXY_URL': console.get('proxyUrl'),
        'CRC_CA_BUNDLE': _ca_file('console', console['caConfigMap']) if console.get('caConfigMap') else None,
    }
    return _value_env(values)


def kind_env(name: str, kind: JobKind, full: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Variables that differ per CronJob (the vCPU run is a gather of one collector with its own lock).

    They are pod env, not the shared ConfigMap: every pod reads that one, and a vCPU gather must not act on the
    main gather's retention or KPI settings, nor a gather on the report pod's source mounts."""
    env = [{'name': 'HOME', 'value': '/tmp'}, {'name': 'TMPDIR', 'value': '/tmp'}]
    if kind == 'vcpu':
        vcpu = full['vcpu']
        values = {
            'OPTIONAL_COLLECTORS': contract.VCPU_COLLECTOR,
            'DISABLE_JOB_HOST_SUMMARY_COLLECTOR': 'true',
            'USAGE_BASED_METERING_ENABLED': 'true',
            'COLLECTOR_LOCK_SUFFIX': 'vcpu',
            'CLUSTER_NAME': vcpu['clusterName'],
            'PROMETHEUS_URL': vcpu['prometheusUrl'],
        }
        if vcpu.get('caConfigMap'):
            values['PROMETHEUS_CA'] = _ca_file('prometheus', vcpu['caConfigMap'])
        env += _value_env(values)
    if kind == 'gather' and full.get('retention'):
        # Only the main gather prunes (at its end, under its lock): the vCPU run has a lock of its own.
        retention = full['retention']
        limits = {
            'RETENTION_MAX_AGE_DAYS': retention.get('maxAgeDays'),
            # More than the worker's ceiling (4 EiB) is the same as the ceiling: nothing that large is ever stored.
            'RETENTION_MAX_BYTES': min(quantity_bytes(retention['maxBytes']), contract.RETENTION_MAX_BYTES[1])
            if 'maxBytes' in retention
            else None,
        }
        env += _value_env(limits)
    if kind == 'gather' and full.get('kpi'):
        # The KPI sink of every gather and backfill shard (docs/scale.md); credentials come from `secret_env`.
        kpi = full['kpi']
        ca = _ca_file('kpi', kpi['caConfigMap']) if kpi.get('caConfigMap') else None
        env += _value_env(
            {'ELASTICSEARCH_URL': kpi['url'], 'ELASTICSEARCH_INDEX': kpi.get('index'), 'ELASTICSEARCH_CA_BUNDLE': ca}
        )
    if kind == 'gather':
        env += console_env(full)
    env += crc_identity.env(name, kind, full)  # which identity uploads to console.redhat.com
    if kind == 'report' and full['report'].get('additionalSources'):
        env += _value_env({'ADDITIONAL_SHIP_PATHS': ';'.join(additional_sources(name, full)[0])})
    if kind == 'gather' and full['storage']['type'] in ('directory', 's3'):
        # Month-to-date usage from the daily rollups into the summary (docs/metrics.md); CRC accepts uploads only.
        env.append({'name': 'METRICS_UTILITY_MONTH_USAGE', 'value': 'true'})
    return env


def _ca_file(purpose: str, ref: Mapping[str, Any]) -> str:
    return f'{CA_DIR}/{purpose}/{ref.get("key", "ca.crt")}'


def additional_sources(name: str, full: Mapping[str, Any]) -> tuple[list[str], list[dict], list[dict]]:
    """(sources for METRICS_UTILITY_ADDITIONAL_SHIP_PATHS, report pod volumes, mounts).

    S3 sources pass as given. Each other claim is mounted read-only once, at /sources/<n>, and a source's `path` is a
    directory inside it: a path that does not exist is then the worker's clear error, not a pod stuck in mounting.
    A source on the main claim is a directory under the storage path (the claim is mounted there already).
    """
    paths: list[str] = []
    vols: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    roots: dict[str, str] = {}
    main = main_claim_name(name, full)
    for source in full['report'].get('additionalSources') or []:
        if 's3' in source:
            paths.append(source['s3'])
            continue
        claim = source['claimName']
        if claim == main:
            roots[claim] = full['storage']['directory']['path'].rstrip('/')
        elif claim not in roots:
            volume, roots[claim] = f'source-{len(vols)}', f'{SOURCES_DIR}/{len(vols)}'
            vols.append({'name': volume, 'persistentVolumeClaim': {'claimName': claim, 'readOnly': True}})
            mounts.append({'name': volume, 'mountPath': roots[claim], 'readOnly': True})
        paths.append(f'{roots[claim]}/{source["path"]}' if source.get('path') else roots[claim])
    return paths, vols, mounts


def command(kind: JobKind, full: Mapping[str, Any]) -> list[str]:
    if kind == 'report':
        report = full['report']
        # RENEWAL_GUIDANCE needs a start (it runs until today); the CCSP types default to the previous month.
        since = [f'--since={report.get("since") or contract.RENEWAL_SINCE_DEFAULT}'] * (
            report['type'] == 'RENEWAL_GUIDANCE'
        )
        return ['metrics-utility', 'build-report', *since, f'--summary-file={names.TERMINATION_LOG}']
    return [
        'metrics-utility',
        'gather',
        '--ship',
        f'--until={full["gather"]["untilLag"]}',
        f'--summary-file={names.TERMINATION_LOG}',
    ]


def volumes(name: str, kind: JobKind, full: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, container mounts): a writable /tmp for the read-only root, the storage claim (directory data or
    crc watermarks), CA bundles, and the report's additional source claims."""
    vols: list[dict[str, Any]] = [{'name': TMP_VOLUME, 'emptyDir': {}}]
    mounts: list[dict[str, Any]] = [{'name': TMP_VOLUME, 'mountPath': '/tmp'}]
    storage = full['storage']
    claim = storage_claim_name(name, full)
    if claim is not None:
        volume, path = (DATA_VOLUME, storage['directory']['path']) if storage['type'] == 'directory' else STATE_MOUNT
        vols.append({'name': volume, 'persistentVolumeClaim': {'claimName': claim}})
        mounts.append({'name': volume, 'mountPath': path})
    cas = []
    if kind == 'vcpu' and full['vcpu'].get('caConfigMap'):
        cas.append(('prometheus', full['vcpu']['caConfigMap']['name']))
    if storage['type'] == 'crc' and storage['crc'].get('caConfigMap'):
        cas.append(('crc', storage['crc']['caConfigMap']['name']))
    if kind == 'gather' and (storage.get('console') or {}).get('caConfigMap'):
        cas.append(('console', storage['console']['caConfigMap']['name']))
    if kind == 'gather' and (full.get('kpi') or {}).get('caConfigMap'):
        cas.append(('kpi', full['kpi']['caConfigMap']['name']))
    for purpose, configmap in cas:
        vols.append({'name': f'ca-{purpose}', 'configMap': {'name': configmap}})
        mounts.append({'name': f'ca-{purpose}', 'mountPath': f'{CA_DIR}/{purpose}', 'readOnly': True})
    trusted_vols, trusted_mounts = network.volumes(name, full)
    vols += trusted_vols
    mounts += trusted_mounts
    identity_vols, identity_mounts = crc_identity.volumes(name, kind, full)
    vols += identity_vols
    mounts += identity_mounts
    if kind == 'report':
        _, source_vols, source_mounts = additional_sources(name, full)
        vols += source_vols
        mounts += source_mounts
    return vols, mounts


def resources(kind: JobKind, full: Mapping[str, Any]) -> dict[str, Any]:
    """The worker container's requests and limits: `spec.resources` as given, else the defaults of its pod kind."""
    return copy.deepcopy(full.get('resources') or RESOURCE_DEFAULTS[kind])


def container(name: str, kind: JobKind, full: Mapping[str, Any], image: str, mounts: list[dict[str, Any]]) -> dict:
    return {
        'name': 'worker',
        'image': full.get('image') or image,
        'imagePullPolicy': full['imagePullPolicy'],
        'command': command(kind, full),
        # The operator's ConfigMap last: of several envFrom sources the last wins, so the spec beats spec.envFrom.
        'envFrom': [*dropin.user_env_from(full), {'configMapRef': {'name': names.configmap_name(name)}}],
        'env': kind_env(name, kind, full) + secret_env(kind, full) + network.proxy_env(full) + dropin.user_env(full),
        'resources': resources(kind, full),
        'volumeMounts': mounts,
        'terminationMessagePath': names.TERMINATION_LOG,
        # `File`, not `FallbackToLogsOnError`: log tails must never reach the CR status.
        'terminationMessagePolicy': 'File',
        'securityContext': {
            'allowPrivilegeEscalation': False,
            'capabilities': {'drop': ['ALL']},
            'readOnlyRootFilesystem': True,
            'runAsNonRoot': True,
        },
    }


def pod_template(name: str, kind: JobKind, full: Mapping[str, Any], image: str) -> dict[str, Any]:
    """OpenShift restricted-v2 compatible: no fixed UID/GID/fsGroup, so the SCC can assign them.

    Shared by every pod kind (the backfill Job's too), so `spec.nodeSelector`, `tolerations`, `affinity` and
    `priorityClassName` reach them all."""
    vols, mounts = volumes(name, kind, full)
    spec: dict[str, Any] = {
        'restartPolicy': 'Never',
        'securityContext': {'runAsNonRoot': True, 'seccompProfile': {'type': 'RuntimeDefault'}},
        'containers': [container(name, kind, full, image, mounts)],
        'volumes': vols,
        'automountServiceAccountToken': kind == 'vcpu',
    }
    if full.get('serviceAccountName'):
        spec['serviceAccountName'] = full['serviceAccountName']
    if full.get('imagePullSecrets'):
        spec['imagePullSecrets'] = [{'name': n} for n in full['imagePullSecrets']]
    # Placement only when set: an unchanged spec keeps its rendered hash (no patch of existing CronJobs).
    spec |= {key: copy.deepcopy(full[key]) for key in PLACEMENT_FIELDS if full.get(key)}
    if dashboard.shares_rwo_claim(full):  # the claim is attached to the dashboard pod's node (docs/operator.md)
        spec['affinity'] = dashboard.with_affinity(name, spec.get('affinity'))
    return {'metadata': {'labels': names.labels(name, kind)}, 'spec': spec}


def dashboard_pod(name: str, namespace: str, full: Mapping[str, Any], image: str) -> dict[str, Any]:
    """`metrics-utility serve` in the report pod's shape (storage settings, S3 credentials, CA bundles, report
    sources), with every claim read-only, a writable emptyDir for its usage digests, no database credentials and,
    in network mode, its own ServiceAccount and the serving certificate."""
    found = dashboard.settings(full)
    assert found is not None
    network_mode = found['network']['enabled']
    vols, mounts = volumes(name, 'report', full)
    dashboard.read_only(mounts, vols)
    vols.append({'name': dashboard.CACHE_VOLUME, 'emptyDir': {'sizeLimit': dashboard.CACHE_SIZE_LIMIT}})
    mounts.append({'name': dashboard.CACHE_VOLUME, 'mountPath': dashboard.CACHE_DIR})
    if network_mode:
        secret = dashboard.serving_secret(name, found)
        vols.append({'name': dashboard.SERVING_VOLUME, 'secret': {'secretName': secret}})
        mounts.append({'name': dashboard.SERVING_VOLUME, 'mountPath': dashboard.SERVING_DIR, 'readOnly': True})
    worker = container(name, 'report', full, image, mounts)
    port_name, port = ('https', dashboard.NETWORK_PORT) if network_mode else ('http', dashboard.LOOPBACK_PORT)
    worker |= {
        'name': dashboard.COMPONENT,
        'command': ['metrics-utility', 'serve'],
        # The dashboard reads the storage only: the database credentials stay out of its pod.
        'env': [e for e in worker['env'] if not e['name'].startswith(f'{contract.PREFIX}DB_')]
        + dashboard.environment(name, namespace, found),
        'resources': found['resources'],
        'ports': [{'name': port_name, 'containerPort': port, 'protocol': 'TCP'}],
        **dashboard.probes(found),
    }
    spec: dict[str, Any] = {
        'securityContext': {'runAsNonRoot': True, 'seccompProfile': {'type': 'RuntimeDefault'}},
        'containers': [worker],
        'volumes': vols,
        'automountServiceAccountToken': network_mode,  # the token authenticates its token and access reviews
    }
    if network_mode:
        spec['serviceAccountName'] = dashboard.name(name)
    elif full.get('serviceAccountName'):
        spec['serviceAccountName'] = full['serviceAccountName']
    if full.get('imagePullSecrets'):
        spec['imagePullSecrets'] = [{'name': n} for n in full['imagePullSecrets']]
    spec |= {key: copy.deepcopy(full[key]) for key in PLACEMENT_FIELDS if full.get(key)}
    return {'metadata': {'labels': dashboard.labels(name)}, 'spec': spec}


def dashboard_objects(name: str, namespace: str, full: Mapping[str, Any], image: str) -> list[dict[str, Any]]:
    """Deployment, Service, optional Route or Ingress, and (network mode) the ServiceAccount; [] when it is off."""
    found = dashboard.settings(full)
    if found is None:
        return []
    pod = dashboard_pod(name, namespace, full, image)
    objects = [
        *([dashboard.service_account(name, namespace)] if found['network']['enabled'] else []),
        dashboard.deployment(name, namespace, full, pod, found),
        dashboard.service(name, namespace, found),
        dashboard.route(name, namespace, found),
        dashboard.ingress(name, namespace, found),
    ]
    return [_with_hash(obj) for obj in objects if obj is not None]


def cronjob(name: str, namespace: str, kind: JobKind, full: Mapping[str, Any], image: str) -> dict[str, Any]:
    block, jobs = full[kind], full['jobs']
    spec: dict[str, Any] = {
        'schedule': block['schedule'].strip(),
        'suspend': bool(full['suspend']),
        'concurrencyPolicy': 'Forbid',
        'startingDeadlineSeconds': jobs['startingDeadlineSeconds'],
        'successfulJobsHistoryLimit': jobs['successfulJobsHistoryLimit'],
        'failedJobsHistoryLimit': jobs['failedJobsHistoryLimit'],
        'jobTemplate': {
            # Labels here reach the Jobs the CronJob controller creates: how the operator finds them.
            'metadata': {'labels': names.labels(name, kind)},
            'spec': {
                'backoffLimit': block['backoffLimit'],
                'activeDeadlineSeconds': block['activeDeadlineSeconds'],
                'template': pod_template(name, kind, full, image),
            },
        },
    }
    if full.get('timeZone'):
        spec['timeZone'] = full['timeZone']
    return _with_hash(
        {
            'apiVersion': 'batch/v1',
            'kind': 'CronJob',
            'metadata': {
                'name': names.cronjob_name(name, kind),
                'namespace': namespace,
                'labels': names.labels(name, kind),
            },
            'spec': spec,
        }
    )


def configmap(name: str, namespace: str, full: Mapping[str, Any]) -> dict[str, Any]:
    return _with_hash(
        {
            'apiVersion': 'v1',
            'kind': 'ConfigMap',
            'metadata': {'name': names.configmap_name(name), 'namespace': namespace, 'labels': names.labels(name)},
            'data': settings(full),
        }
    )


def claim(name: str, namespace: str, full: Mapping[str, Any]) -> dict[str, Any] | None:
    """The claim the operator creates for `storage.directory.size` or `storage.crc.state.size`; None when the user
    supplies one (or S3 needs none)."""
    found = claim_block(full)
    if found is None or found[1].get('claimName'):
        return None
    block = found[1]
    spec: dict[str, Any] = {
        'accessModes': [block.get('accessMode', 'ReadWriteOnce')],
        'resources': {'requests': {'storage': block['size']}},
    }
    if block.get('storageClassName'):
        spec['storageClassName'] = block['storageClassName']
    return {
        'apiVersion': 'v1',
        'kind': 'PersistentVolumeClaim',
        'metadata': {'name': names.claim_name(name), 'namespace': namespace, 'labels': names.labels(name)},
        'spec': spec,
    }


def desired(name: str, namespace: str, full: Mapping[str, Any], image: str) -> list[dict[str, Any]]:
    """Everything the operator keeps in step with the spec (the claim is handled apart: it is never rewritten)."""
    trusted_ca = network.trusted_ca_configmap(name, namespace, full)
    return (
        [configmap(name, namespace, full), *([_with_hash(trusted_ca)] if trusted_ca else [])]
        + [cronjob(name, namespace, kind, full, image) for kind in enabled_kinds(full)]
        + dashboard_objects(name, namespace, full, image)
    )


def content_hash(obj: Mapping[str, Any]) -> str:
    body = {k: v for k, v in obj.items() if k != 'metadata'}
    body['labels'] = obj.get('metadata', {}).get('labels', {})
    annotations = {
        k: v for k, v in (obj.get('metadata', {}).get('annotations') or {}).items() if k != names.ANNOTATION_HASH
    }
    if annotations:  # rendered annotations (the dashboard's Service and Ingress) are content too
        body['annotations'] = annotations
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


def _with_hash(obj: dict[str, Any]) -> dict[str, Any]:
    """Stamp the content hash so applying is a no-op when nothing changed (the API server adds defaults we ignore)."""
    obj['metadata']['annotations'] = {
        **(obj['metadata'].get('annotations') or {}),
        names.ANNOTATION_HASH: content_hash(obj),
    }
    return obj


def _backfill_instant(value: str) -> str:
    return f'{value}T00:00:00Z' if len(value) == 10 else value


def backfill_request(backfill: Mapping[str, Any]) -> dict[str, Any]:
    return {
        'since': _backfill_instant(backfill['since']),
        'until': _backfill_instant(backfill['until']),
        'shards': backfill['shards'],
    }


def backfill_job_name(name: str, full: Mapping[str, Any]) -> str | None:
    """The name of the Job the current `spec.backfill` asks for (None without one)."""
    backfill = backfill_settings(full)
    if backfill is None:
        return None
    digest = hashlib.sha256(json.dumps(backfill_request(backfill), sort_keys=True).encode()).hexdigest()
    return names.backfill_job_name(name, digest)


def backfill_job(name: str, namespace: str, full: Mapping[str, Any], image: str) -> dict[str, Any] | None:
    """The one-off Indexed Job for `spec.backfill`: pod i runs shard i of n (`JOB_COMPLETION_INDEX`).

    Its name carries a hash of the request, so a new request is a new Job and the same request is never run twice
    by the operator (Jobs are immutable: it is created once, never patched). Each index retries on its own
    (`backoffLimitPerIndex`), so the status lists completed and failed indexes.
    """
    backfill = backfill_settings(full)
    if backfill is None:
        return None
    request = backfill_request(backfill)
    since, until = request['since'], request['until']
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
    template = pod_template(name, 'gather', full, image)
    template['metadata'] = {'labels': names.labels(name, names.BACKFILL)}
    worker = template['spec']['containers'][0]
    worker['command'] = [
        'metrics-utility',
        'gather',
        '--ship',
        f'--since={since}',
        f'--until={until}',
        f'--shard={backfill["shards"]}',
        f'--summary-file={names.TERMINATION_LOG}',
    ]
    days = max(1, -(-(_parse(until) - _parse(since)).total_seconds() // 86400))
    # The look-back horizon must cover the whole window (it is measured back from --until).
    env = [e for e in worker['env'] if not e['name'].startswith('METRICS_UTILITY_RETENTION_')]  # shards never prune
    worker['env'] = [*env, {'name': 'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS', 'value': str(int(days))}]
    return {
        'apiVersion': 'batch/v1',
        'kind': 'Job',
        'metadata': {
            'name': names.backfill_job_name(name, digest),
            'namespace': namespace,
            'labels': names.labels(name, names.BACKFILL),
            'annotations': {names.ANNOTATION_BACKFILL: json.dumps(request, sort_keys=True)},
        },
        'spec': {
            'completionMode': 'Indexed',
            'completions': backfill['shards'],
            'parallelism': min(backfill['parallelism'], backfill['shards']),
            'backoffLimitPerIndex': full['gather']['backoffLimit'],
            'activeDeadlineSeconds': backfill['activeDeadlineSeconds'],
            'template': template,
        },
    }


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace('Z', '+00:00'))
