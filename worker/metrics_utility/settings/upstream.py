"""metrics-utility's variables we accept without effect: one warning each, never a refusal.

Why: admins switch by pointing us at the ConfigMap and Secret they already wrote for metrics-utility (issue 13), so
a variable it reads and we deliberately do not (Candlepin registration, test hooks) must not stop a run; it is named
once, with what we do instead (the declaration's `doc`, also listed in docs/settings.md and docs/upstream.md). The
warning never shows the value: some of these hold passwords.
"""

from __future__ import annotations

from collections.abc import Mapping

from .environment import Environment
from .variables import VARIABLES


def without_effect(env: Mapping[str, str] | Environment) -> list[str]:
    """One warning per set (non-blank) variable declared `upstream='no effect'`, in declaration order."""
    env = Environment.of(env)
    return [
        f'{v.name} is set but has no effect here: {v.doc}'
        for v in VARIABLES
        if v.upstream == 'no effect' and env.text(v.name) is not None
    ]
