"""The one base of every error a command answers with an exit code, so the command line maps them in one place.

`exit_code` is 2 for what the user must fix (arguments, configuration, a window that cannot be gathered) and 1 for a
run that failed (the database, the storage, a collector, the lock). Subclasses stay where their layer defines them
(`StorageError` in `library/storage`, `ConfigError` in `settings`, `GatherError` in `gather`, …) and set
`exit_code`; any other exception reaching the command line is a bug and gets the CLI's internal-error line instead.
"""

from __future__ import annotations

from typing import ClassVar

RUN_FAILED = 1
BAD_INPUT = 2


class MetricsUtilityError(Exception):
    """An error with the exit code it ends a command with and the one line (`message`) a person reads."""

    exit_code: ClassVar[int] = RUN_FAILED

    @property
    def message(self) -> str:
        """The first line of the error's text (a server's multi-line answer stays one readable line)."""
        text = str(self).strip()
        return text.splitlines()[0] if text else type(self).__name__


class SetupError(MetricsUtilityError):
    """A storage target or a step cannot even be set up from the configuration: the user's to fix."""

    exit_code = BAD_INPUT
