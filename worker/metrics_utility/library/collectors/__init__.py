"""Collectors: functions that read one source (the controller database, Prometheus) for one window.

See `base` for the contract. Controller collectors live in `controller`, the Prometheus vCPU collector in
`prometheus`; `registry` lists every collector a gather may run.
"""

from .base import (
    Collector,
    CollectorError,
    CollectorFactory,
    CollectorInfo,
    CollectorParameterError,
    Files,
    RunContext,
    collector,
    unreadable_rows,
)

__all__ = [
    'Collector',
    'CollectorError',
    'CollectorFactory',
    'CollectorInfo',
    'CollectorParameterError',
    'Files',
    'RunContext',
    'collector',
    'unreadable_rows',
]
