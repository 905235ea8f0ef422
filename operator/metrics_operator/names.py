"""Names shared by the CRD, the renderers and the handlers: one place, so labels and selectors never drift."""

from __future__ import annotations

from typing import Final, Literal

GROUP: Final = 'metrics.aap.dev'
VERSION: Final = 'v1alpha1'
API_VERSION: Final = f'{GROUP}/{VERSION}'
KIND: Final = 'MetricsCollection'
PLURAL: Final = 'metricscollections'

JobKind = Literal['gather', 'report', 'vcpu']
JOB_KINDS: Final[tuple[JobKind, ...]] = ('gather', 'report', 'vcpu')

# CronJob names must stay <= 52 characters (the Job controller appends `-<minutes since epoch>`, 11 characters).
CRONJOB_NAME_LIMIT: Final = 52
MAX_SUFFIX: Final = max(len(f'-{kind}') for kind in JOB_KINDS)
MAX_COLLECTION_NAME: Final = CRONJOB_NAME_LIMIT - MAX_SUFFIX  # 45

LABEL_COLLECTION: Final = f'{GROUP}/collection'
LABEL_JOB_KIND: Final = f'{GROUP}/job-kind'
LABEL_MANAGED_BY: Final = 'app.kubernetes.io/managed-by'
MANAGED_BY: Final = 'metrics-operator'
ANNOTATION_HASH: Final = f'{GROUP}/rendered-hash'
FINALIZER: Final = f'{GROUP}/finalizer'

# The Job controller labels pods with the Job name (both spellings exist across versions).
POD_JOB_NAME_LABELS: Final = ('batch.kubernetes.io/job-name', 'job-name')
SCHEDULED_ANNOTATION: Final = 'batch.kubernetes.io/cronjob-scheduled-timestamp'

TERMINATION_LOG: Final = '/dev/termination-log'

# The one-off backfill (docs/scale.md): an Indexed Job, not a CronJob, so it is not one of JOB_KINDS.
BACKFILL: Final = 'backfill'
ANNOTATION_BACKFILL: Final = f'{GROUP}/backfill'  # the request the Job runs (JSON: since, until, shards)


def cronjob_name(collection: str, kind: JobKind) -> str:
    return f'{collection}-{kind}'


def configmap_name(collection: str) -> str:
    return f'{collection}-settings'


def claim_name(collection: str) -> str:
    """Name of the claim the operator creates when the user asks for a size instead of naming a claim."""
    return f'{collection}-data'


def candlepin_identity_secret(collection: str) -> str:
    """The kubernetes.io/tls Secret the operator owns for `identity.source: managed` (it registers and renews the
    consumer there; the pods mount it like a certificateSecret). At most 45 + 19 characters."""
    return f'{collection}-candlepin-identity'


def backfill_job_name(collection: str, digest: str) -> str:
    """`<collection>-backfill-<8 hex>`: at most 45 + 18 = 63 characters (the Job name is a label value)."""
    return f'{collection}-{BACKFILL}-{digest[:8]}'


def labels(collection: str, kind: JobKind | Literal['backfill'] | None = None) -> dict[str, str]:
    result = {
        'app.kubernetes.io/name': 'metrics-utility',
        'app.kubernetes.io/instance': collection,
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_COLLECTION: collection,
    }
    if kind is not None:
        result['app.kubernetes.io/component'] = kind
        result[LABEL_JOB_KIND] = kind
    return result
