"""Operator configuration from `METRICS_OPERATOR_*` variables, and the Kopf settings derived from it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import kopf

from metrics_operator import names, network, trust


@dataclass(frozen=True)
class OperatorConfig:
    """Everything the deployment may tune; defaults suit one replica watching its own namespace."""

    worker_image: str = 'quay.io/metrics-utility/metrics-utility:latest'
    namespaces: tuple[str, ...] = ()  # empty + clusterwide=False → the pod's own namespace (POD_NAMESPACE)
    clusterwide: bool = False
    standalone: bool = True  # one replica: no peering objects needed
    peering_name: str | None = None  # set (with standalone=False) to run several replicas with Kopf peering
    liveness: str | None = 'http://0.0.0.0:8080/healthz'
    metrics_port: int = 8000  # 0 disables the Prometheus endpoint
    status_interval: float = 15.0  # how often Job outcomes are folded into status (no API calls when unchanged)
    retry_interval: float = 60.0  # how often a collection waiting for a Secret/claim is re-checked
    watch_server_timeout: int = 300
    watch_client_timeout: int = 330
    request_timeout: float = 30.0
    events: bool = True
    # Images and service accounts a MetricsCollection may ask for (spec.image, spec.serviceAccountName) besides
    # `worker_image` and the namespace's default account; see `trust` and docs/install.md.
    allowed_images: tuple[str, ...] = ()
    allowed_service_accounts: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)
    # The operator pod's HTTPS_PROXY/HTTP_PROXY/NO_PROXY (OLM injects the cluster-wide proxy): what
    # `spec.proxy.fromOperator` passes to the worker pods.
    proxy: Mapping[str, str] = field(default_factory=dict)
    # The managed Candlepin identity (docs/operator.md): how often it checks in; how often its Secret is looked at
    # (registered when missing, renewed near expiry, a failure retried); how long one Candlepin call may take.
    identity_interval: float = 12 * 3600.0
    identity_retry_interval: float = 600.0
    identity_timeout: float = 30.0
    # The chart's ClusterRole for token and access reviews, set only with its `dashboard.networkMode`: the dashboard's
    # network mode binds its ServiceAccount to it (docs/operator.md, "Dashboard"). Empty: network mode is refused.
    dashboard_auth_role: str = ''

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env

        def get(key: str, default: str) -> str:
            return env.get(f'METRICS_OPERATOR_{key}', default)

        def flag(key: str, default: bool) -> bool:
            return get(key, str(default)).strip().lower() in {'1', 'true', 'yes', 'on'}

        def names_list(key: str) -> tuple[str, ...]:
            return tuple(n.strip() for n in get(key, '').split(',') if n.strip())

        namespaces = names_list('NAMESPACES')
        # The pod's own proxy (OLM injects the cluster-wide one); upper case wins over lower case, as in requests.
        given = {var: env.get(var) or env.get(var.lower()) for var in network.PROXY_VARIABLES}
        proxy = {var: value for var, value in given.items() if value}
        if not namespaces and not flag('CLUSTERWIDE', False) and env.get('POD_NAMESPACE'):
            namespaces = (env['POD_NAMESPACE'],)
        return cls(
            worker_image=get('WORKER_IMAGE', cls.worker_image),
            namespaces=namespaces,
            clusterwide=flag('CLUSTERWIDE', False),
            standalone=flag('STANDALONE', True),
            peering_name=get('PEERING_NAME', '') or None,
            liveness=get('LIVENESS', cls.liveness or '') or None,
            metrics_port=int(get('METRICS_PORT', str(cls.metrics_port))),
            status_interval=float(get('STATUS_INTERVAL', str(cls.status_interval))),
            retry_interval=float(get('RETRY_INTERVAL', str(cls.retry_interval))),
            watch_server_timeout=int(get('WATCH_SERVER_TIMEOUT', str(cls.watch_server_timeout))),
            watch_client_timeout=int(get('WATCH_CLIENT_TIMEOUT', str(cls.watch_client_timeout))),
            request_timeout=float(get('REQUEST_TIMEOUT', str(cls.request_timeout))),
            events=flag('EVENTS', True),
            allowed_images=names_list('ALLOWED_IMAGES'),
            allowed_service_accounts=names_list('ALLOWED_SERVICE_ACCOUNTS'),
            proxy=proxy,
            identity_interval=float(get('IDENTITY_INTERVAL', str(cls.identity_interval))),
            identity_retry_interval=float(get('IDENTITY_RETRY_INTERVAL', str(cls.identity_retry_interval))),
            identity_timeout=float(get('IDENTITY_TIMEOUT', str(cls.identity_timeout))),
            dashboard_auth_role=get('DASHBOARD_AUTH_ROLE', '').strip(),
        )

    @property
    def allowed(self) -> trust.Allowed:
        return trust.Allowed(self.worker_image, self.allowed_images, self.allowed_service_accounts)


def configure(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """Production settings: Kopf's bookkeeping in annotations under our prefix, never in `status`."""
    settings.persistence.finalizer = names.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=names.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=names.GROUP, key='last-handled-configuration'
    )
    settings.watching.server_timeout = config.watch_server_timeout
    settings.watching.client_timeout = config.watch_client_timeout
    settings.watching.connect_timeout = 30
    settings.networking.request_timeout = config.request_timeout
    settings.posting.enabled = config.events
    settings.posting.level = logging.WARNING  # Events for problems only; success is visible in status
    settings.execution.default_backoff = 10
    settings.peering.standalone = config.standalone
    if config.peering_name:
        settings.peering.name = config.peering_name
        settings.peering.clusterwide = config.clusterwide
    if not config.clusterwide:
        settings.scanning.disabled = True  # a Role suffices: no cluster-wide namespace/CRD scans
