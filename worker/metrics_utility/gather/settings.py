"""Gather settings live in `metrics_utility.settings.gather`; this module keeps the old import path working."""

from metrics_utility.settings.gather import (
    DEFAULT_OPTIONAL,
    KNOWN_COLLECTORS,
    TARGETS,
    GatherSettings,
    SettingsError,
    load,
)

__all__ = ['DEFAULT_OPTIONAL', 'KNOWN_COLLECTORS', 'TARGETS', 'GatherSettings', 'SettingsError', 'load']
