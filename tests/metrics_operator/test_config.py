"""Operator settings from the environment and the Kopf settings derived from them."""

from __future__ import annotations

import logging

import kopf
import pytest
from prometheus_client import generate_latest

from metrics_operator import names
from metrics_operator.config import OperatorConfig, configure
from metrics_operator.operator_metrics import OperatorMetrics

pytestmark = pytest.mark.unit


def test_defaults_watch_own_namespace():
    config = OperatorConfig.from_env({'POD_NAMESPACE': 'aap'})
    assert config.namespaces == ('aap',) and not config.clusterwide and config.standalone


def test_clusterwide_and_peering():
    env = {
        'METRICS_OPERATOR_CLUSTERWIDE': 'true',
        'METRICS_OPERATOR_STANDALONE': 'false',
        'METRICS_OPERATOR_PEERING_NAME': 'metrics',
        'METRICS_OPERATOR_WATCH_SERVER_TIMEOUT': '120',
        'POD_NAMESPACE': 'aap',
    }
    config = OperatorConfig.from_env(env)
    assert config.clusterwide and config.namespaces == () and not config.standalone
    settings = kopf.OperatorSettings()
    configure(settings, config)
    assert settings.peering.name == 'metrics' and settings.peering.clusterwide
    assert settings.watching.server_timeout == 120 and settings.watching.client_timeout > 120
    assert not settings.scanning.disabled


def test_the_managed_identity_schedule_and_timeout():
    default = OperatorConfig()
    assert (default.identity_interval, default.identity_retry_interval, default.identity_timeout) == (43200, 600, 30)
    env = {
        'METRICS_OPERATOR_IDENTITY_INTERVAL': '3600',
        'METRICS_OPERATOR_IDENTITY_RETRY_INTERVAL': '60',
        'METRICS_OPERATOR_IDENTITY_TIMEOUT': '5',
    }
    config = OperatorConfig.from_env(env)
    assert (config.identity_interval, config.identity_retry_interval, config.identity_timeout) == (3600, 60, 5)


def test_kopf_bookkeeping_under_our_prefix_and_out_of_status():
    settings = kopf.OperatorSettings()
    configure(settings, OperatorConfig(namespaces=('aap',)))
    assert settings.persistence.finalizer == names.FINALIZER
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert settings.persistence.progress_storage.prefix == names.GROUP
    assert isinstance(settings.persistence.diffbase_storage, kopf.AnnotationsDiffBaseStorage)
    assert settings.scanning.disabled and settings.peering.standalone
    assert settings.posting.level == logging.WARNING


def test_metrics_exposition():
    m = OperatorMetrics()
    m.reconciles.labels('ns', 'mc', 'ok').inc()
    m.last_job_success.labels('ns', 'mc', 'gather').set(1.7e9)
    m.ready.labels('ns', 'mc').set(1)
    text = generate_latest(m.registry).decode()
    assert 'metrics_operator_reconciles_total{name="mc",namespace="ns",result="ok"} 1.0' in text
    assert 'metrics_operator_last_job_success_timestamp_seconds{kind="gather",name="mc",namespace="ns"}' in text
    m.forget('ns', 'mc')
    assert 'metrics_operator_collection_ready{' not in generate_latest(m.registry).decode()
