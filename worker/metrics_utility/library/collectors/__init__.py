"""Collectors: functions that read one source (the controller database, Prometheus) for one window.

See `base` for the contract. Controller collectors live in `controller`, others (Prometheus vCPU) in `others`.
"""

from .base import (
    REGISTRY,
    Collector,
    CollectorError,
    CollectorInfo,
    CollectorParameterError,
    Files,
    collector,
    unreadable_rows,
)

__all__ = [
    'REGISTRY',
    'Collector',
    'CollectorError',
    'CollectorInfo',
    'CollectorParameterError',
    'Files',
    'collector',
    'unreadable_rows',
]
