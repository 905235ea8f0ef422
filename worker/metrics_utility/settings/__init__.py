"""Settings from METRICS_UTILITY_* environment variables; every problem is collected and reported at once."""

from .common import ConfigError, ShipSettings, ship_settings

__all__ = ['ConfigError', 'ShipSettings', 'ship_settings']
