"""Hostile values for every declared variable, generated from the declarations: a new whole-number, boolean or URL
variable is attacked the day it is declared (its group needs a CONTEXT entry, or these tests fail).

Each case asserts the exact problems the loaders report: whole numbers accept ASCII digits within the declared
range only, booleans a fixed vocabulary, and a URL never carries `user:password@` (never echoed back)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from metrics_utility.library import secret
from metrics_utility.settings import gather as gather_settings
from metrics_utility.settings.candlepin import candlepin_settings
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.environment import Environment
from metrics_utility.settings.push import push_settings
from metrics_utility.settings.report import report_settings
from metrics_utility.settings.variables import VARIABLES, Variable

pytestmark = [pytest.mark.unit, pytest.mark.hostile]
P = 'METRICS_UTILITY_'
CRC = {
    P + 'SHIP_TARGET': 'crc',
    P + 'BILLING_PROVIDER': 'aws',
    P + 'BILLING_ACCOUNT_ID': '123456789012',
    P + 'SERVICE_ACCOUNT_ID': 'id',
    P + 'SERVICE_ACCOUNT_SECRET': 'sa-secret',
    P + 'STATE_PATH': '/v/w.json',
}
VCPU = {P + 'OPTIONAL_COLLECTORS': 'total_workers_vcpu', P + 'CLUSTER_NAME': 'c1'}


def gather(base: dict[str, str], ship: bool) -> Callable[[dict[str, str], dict, Path], list[str]]:
    def problems(env: dict[str, str], flags: dict, tmp_path: Path) -> list[str]:
        try:
            gather_settings.load({**base, **env}, ship=ship, flags=flags)
        except ConfigError as exc:
            return exc.problems
        return []

    return problems


def report(env: dict[str, str], flags: dict, tmp_path: Path) -> list[str]:
    base = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path), P + 'REPORT_TYPE': 'CCSPv2'}
    problems: list[str] = []
    report_settings({**base, **env}, problems)
    return problems


def serve(env: dict[str, str], flags: dict, tmp_path: Path) -> list[str]:
    from metrics_utility.settings.serve import serve_settings

    base = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path)}
    problems: list[str] = []
    serve_settings(Environment({**base, **env}, {P + k: v for k, v in flags.items()}), problems)
    return problems


def candlepin(env: dict[str, str], flags: dict, tmp_path: Path) -> list[str]:
    problems: list[str] = []
    candlepin_settings(env, problems)
    return problems


# group → the loader that reads it, in an environment where the group is switched on
CONTEXT = {
    'ship': gather({P + 'SHIP_TARGET': 's3', P + 'BUCKET_NAME': 'b'}, ship=True),
    'database': gather({}, ship=False),
    'collectors': gather({}, ship=False),
    'crc': gather(CRC, ship=True),
    'vcpu': gather(VCPU, ship=False),
    'package': gather({}, ship=False),
    'retention': gather({}, ship=False),
    'kpi': gather({}, ship=False),
    'usage': gather({}, ship=False),
    'report': report,
    'candlepin': candlepin,
    'serve': serve,
}


def range_problem(label: str, shown: str, v: Variable) -> str:
    return f'{label}={shown}{v.problem_separator} expected a whole number from {v.low} to {v.high}'


def whole_cases() -> dict[str, tuple[Variable, dict, dict, list[str]]]:
    cases = {}
    for v in (v for v in VARIABLES if v.kind == 'whole'):
        expected = {
            'empty': [],  # unset: the default
            'padded-12': [] if v.low <= 12 <= v.high else [range_problem(v.name, '12', v)],
            'underscore': [range_problem(v.name, "'1_000'", v)],
            'arabic-indic': [range_problem(v.name, "'٣'", v)],
            '2**70': [range_problem(v.name, str(2**70), v)],
            'nul': [f'{v.name} contains a NUL byte; remove it', range_problem(v.name, "'1\\x00'", v)],
        }
        values = {
            'empty': '',
            'padded-12': ' 12 ',
            'underscore': '1_000',
            'arabic-indic': '٣',
            '2**70': str(2**70),
            'nul': '1\x00',
        }
        for case, value in values.items():
            cases[f'{v.name}-{case}'] = (v, {v.name: value}, {}, expected[case])
        if v.flag:  # the flag passes the same check; given empty it is an error, not "unset"
            suffix = v.name.removeprefix(P)
            for case, value in values.items():
                wanted = [p.replace(v.name, v.flag) for p in expected[case]]
                if case == 'empty':
                    wanted = [range_problem(v.flag, "''", v)]
                cases[f'{v.flag}-{case}'] = (v, {}, {suffix: (v.flag, value)}, wanted)
    return cases


WHOLE = whole_cases()


@pytest.mark.parametrize(('variable', 'env', 'flags', 'expected'), WHOLE.values(), ids=list(WHOLE))
def test_every_whole_number_variable_takes_ascii_digits_in_range_only(tmp_path, variable, env, flags, expected):
    assert CONTEXT[variable.group](env, flags, tmp_path) == expected


BOOLEANS = [v for v in VARIABLES if v.kind == 'boolean']


@pytest.mark.parametrize('variable', BOOLEANS, ids=[v.name for v in BOOLEANS])
def test_every_boolean_variable_refuses_maybe(tmp_path, variable):
    problems = CONTEXT[variable.group]({variable.name: 'maybe'}, {}, tmp_path)
    assert problems == [f"{variable.name}='maybe'{variable.problem_separator} expected true or false"]


URLS = [v for v in VARIABLES if v.kind == 'url']
HELD = 'https://user:pass-0012@host.example:8443/path'


@pytest.mark.parametrize('variable', URLS, ids=[v.name for v in URLS])
def test_every_url_variable_refuses_credentials_without_echoing_them(tmp_path, variable, caplog):
    refused = f'{variable.name} holds credentials (user:password@host), which would reach logs and ConfigMaps: '
    if variable.group == 'proxy':  # requests reads it itself: the password is only made known to the redaction
        gather({}, ship=False)({variable.name: HELD.replace('pass-0012', f'pass-{variable.name}')}, {}, tmp_path)
        assert secret.redact(f'pass-{variable.name}') == '***'
    elif variable.group == 'push':  # telemetry never fails a run: a warning, nothing pushed
        with caplog.at_level(logging.WARNING, logger='metrics_utility.pushgateway'):
            assert push_settings({variable.name: HELD}) is None
        assert [r.getMessage() for r in caplog.records] == [refused + variable.instead]
    else:
        assert CONTEXT[variable.group]({variable.name: HELD}, {}, tmp_path) == [refused + variable.instead]
    assert 'pass-0012' not in caplog.text
