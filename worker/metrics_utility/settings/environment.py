"""The one place the worker reads its environment, and the reader every loader goes through.

Why: a variable read here must be declared in `settings.variables` (its limits and message style come from there),
and command-line flags override variables through the same reader, so a flag passes exactly the check of the
variable it replaces. `consumed` records what the loaders read: a test proves every declared variable has an effect.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, MutableMapping, Sequence

from .common import shown, shown_number, whole_number
from .variables import VARIABLES, declared

Override = tuple[str, str | Sequence[str]]  # (flag as typed, its value or values)
_DESTS = {'--type': 'report_type'}  # argparse destinations that are not the flag's own name


def process_environment() -> dict[str, str]:
    """A copy of this process's environment: the only read of `os.environ` in the worker."""
    return dict(os.environ)


def live_environment() -> MutableMapping[str, str]:
    """This process's environment itself, for the few choices a command makes for the libraries it loads and the
    processes it starts (`library.allocator`); settings are read through `process_environment`."""
    return os.environ


def overrides(args: argparse.Namespace) -> dict[str, Override]:
    """Declared variables replaced by a flag given on the command line: variable name → (flag, value). One
    mechanism for every command: a variable declares its `flag`, a command that defines that flag overrides it."""
    found: dict[str, Override] = {}
    for variable in VARIABLES:
        if variable.flag is None:
            continue
        value = getattr(args, _DESTS.get(variable.flag, variable.flag[2:].replace('-', '_')), None)
        if value is not None:
            found[variable.name] = (variable.flag, value)
    return found


class Environment:
    """A snapshot of variables plus flag overrides, read only through declarations."""

    def __init__(self, values: Mapping[str, str], flags: Mapping[str, Override] | None = None) -> None:
        self.values = dict(values)
        self.flags = dict(flags or {})
        for name in self.flags:
            declared(name)
        self.consumed: set[str] = set()

    @classmethod
    def of(cls, env: Mapping[str, str] | Environment) -> Environment:
        return env if isinstance(env, Environment) else cls(env)

    def with_flags(self, flags: Mapping[str, Override]) -> Environment:
        """This environment with more overrides (the same `consumed` record)."""
        merged = Environment(self.values, {**self.flags, **flags})
        merged.consumed = self.consumed
        return merged

    def raw(self, name: str) -> str | None:
        """The variable as set (None when unset), ignoring flags."""
        declared(name)
        self.consumed.add(name)
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """The variable stripped; None when unset or blank (Kubernetes renders unset fields as empty)."""
        value = self.raw(name)
        return value.strip() if value is not None and value.strip() != '' else None

    def flag(self, name: str) -> Override | None:
        """The flag that replaces `name`, with its value, if one was given."""
        declared(name)
        self.consumed.add(name)
        return self.flags.get(name)

    def whole(self, name: str, problems: list[str], default: int | None) -> int | None:
        """A whole number within the declared range; a flag replaces the variable and passes the same check (an
        empty flag is an error, an empty variable means unset)."""
        variable = declared(name)
        given = self.flag(name)
        if given is not None:
            label, raw = given[0], str(given[1])
        else:
            label, raw = name, self.raw(name)
            if raw is None or raw.strip() == '':
                return default
        assert variable.low is not None and variable.high is not None, f'{name} declares no range'
        value = whole_number(raw, variable.low, variable.high)
        if value is None:
            problems.append(
                f'{label}={shown_number(raw)}{variable.problem_separator} expected a whole number from '
                f'{variable.low} to {variable.high}'
            )
            return default
        return value

    def boolean(self, name: str, problems: list[str], default: bool = False) -> bool:
        raw = self.raw(name)
        if raw is None or raw.strip() == '':
            return default
        value = raw.strip().lower()
        if value in ('1', 'true', 'yes', 'on'):
            return True
        if value in ('0', 'false', 'no', 'off'):
            return False
        problems.append(f'{name}={shown(raw)}{declared(name).problem_separator} expected true or false')
        return default
