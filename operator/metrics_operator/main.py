"""`metrics-operator`: run the operator with production settings (configured by `METRICS_OPERATOR_*` variables)."""

from __future__ import annotations

import asyncio
import logging

import kopf
from prometheus_client import start_http_server

from metrics_operator.config import OperatorConfig
from metrics_operator.handlers import register


def main() -> None:
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    config = OperatorConfig.from_env()
    registry = kopf.SmartOperatorRegistry()  # brings Kopf's in-cluster/kubeconfig login
    settings = kopf.OperatorSettings()
    log = logging.getLogger('metrics_operator')
    runtime = register(registry, config, login=lambda: kopf.login_via_client(logger=log, settings=settings))
    if config.metrics_port:
        start_http_server(config.metrics_port, registry=runtime.metrics.registry)
    asyncio.run(
        kopf.operator(
            registry=registry,
            settings=settings,
            standalone=config.standalone,
            peering_name=config.peering_name,
            clusterwide=config.clusterwide,
            namespaces=config.namespaces,
            liveness_endpoint=config.liveness,
        )
    )


if __name__ == '__main__':
    main()
