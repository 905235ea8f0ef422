"""The settings layer: every variable the worker reads is declared in `variables`, read only by `environment`
(command-line flags override it there), and loaded once into typed groups (`gather`, `report`, `sources`, `push`,
`common` for ship/S3). Every problem is collected and reported at once in one `ConfigError`."""

from .common import ConfigError, ShipSettings, ship_settings

__all__ = ['ConfigError', 'ShipSettings', 'ship_settings']
