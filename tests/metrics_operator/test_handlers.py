"""Which Kopf handlers the operator registers, and that it registers them only when asked (no import side effects)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import kopf
import pytest

from metrics_operator.config import OperatorConfig
from metrics_operator.handlers import register

pytestmark = pytest.mark.unit


def _handlers(registry: kopf.OperatorRegistry) -> set[tuple[str, str, str]]:
    """(registry part, handler id, what triggers it) for every handler in `registry`."""
    found = set()
    for part in ('_activities', '_indexing', '_watching', '_spawning', '_changing', '_webhooks'):
        for handler in getattr(registry, part).get_all_handlers():
            trigger = getattr(handler, 'activity', None) or getattr(handler, 'reason', None)
            if part == '_spawning':
                trigger = f'every {handler.interval}s'
            if getattr(handler, 'initial', None):
                trigger = 'resume'
            found.add((part.strip('_'), handler.id, str(getattr(trigger, 'value', trigger) or 'any')))
    return found


def test_register_adds_each_handler_explicitly():
    registry = kopf.OperatorRegistry()
    register(registry, OperatorConfig(status_interval=7), login=lambda: kopf.ConnectionInfo(server='http://x'))
    assert _handlers(registry) == {
        ('activities', 'startup', 'startup'),
        ('activities', 'close', 'cleanup'),
        ('indexing', 'jobs', 'any'),
        ('indexing', 'pods', 'any'),
        ('indexing', 'deployments', 'any'),  # the dashboard Deployment (status.dashboard)
        ('changing', 'reconcile', 'resume'),
        ('changing', 'reconcile', 'create'),
        ('changing', 'reconcile/spec', 'update'),  # Kopf appends the watched field to the id
        ('changing', 'cleanup', 'delete'),
        ('spawning', 'status', 'every 7s'),
        ('spawning', 'identity', 'every 600.0s'),  # the managed Candlepin identity (docs/operator.md)
    }


def test_importing_the_operator_registers_nothing():
    """A fresh interpreter imports every operator module; Kopf's default registry stays as Kopf made it."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil
        import kopf
        import metrics_operator

        def count():
            r = kopf.get_default_registry()
            parts = (r._activities, r._indexing, r._watching, r._spawning, r._changing, r._webhooks)
            return sum(len(p.get_all_handlers()) for p in parts)

        before = count()
        for module in pkgutil.iter_modules(metrics_operator.__path__):
            importlib.import_module(f'metrics_operator.{module.name}')
        print(before, count())
        """
    )
    done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, check=True)
    before, after = done.stdout.split()
    assert after == before
