"""The worker agrees with `metrics_utility.contract`, the table the operator and its CRD are built from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import metrics_utility
from metrics_utility import contract
from metrics_utility.library.collectors.registry import COLLECTORS
from metrics_utility.library.dedup import CCSP_MODES, RENEWAL_MODES
from metrics_utility.library.reports import options
from metrics_utility.settings import gather as settings
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.report import HEADER_FIELDS

pytestmark = pytest.mark.unit
WORKER = Path(metrics_utility.__file__).parent


def test_collector_keys_and_kinds_are_the_workers():
    assert settings.KNOWN_COLLECTORS == contract.COLLECTOR_KEYS
    assert settings.load({}, ship=False).collectors[0] == contract.ALWAYS_ON_COLLECTOR  # on unless disabled
    assert contract.VCPU_COLLECTOR in COLLECTORS
    declared = {key: (factory.info.kind, factory.info.format) for key, factory in COLLECTORS.items()}
    assert declared == {c.key: (c.kind, c.format) for c in contract.COLLECTORS}


def test_report_types_sheets_and_deduplicators_are_the_workers():
    assert options.REPORT_TYPES == contract.REPORT_TYPES
    assert options.VALID_SHEETS == contract.SHEETS
    assert (CCSP_MODES, RENEWAL_MODES) == (contract.CCSP_DEDUPLICATORS, contract.RENEWAL_DEDUPLICATORS)


def test_header_fields_are_the_workers():
    assert {field.option: field.variable for field in contract.HEADER_FIELDS} == HEADER_FIELDS
    assert {field.option for field in contract.HEADER_FIELDS} <= set(options.ReportOptions.__dataclass_fields__)


def test_every_rendered_variable_is_read_by_the_worker():
    """A name the operator renders but the worker never reads would be a setting without effect."""
    source = '\n'.join(path.read_text() for path in WORKER.rglob('*.py') if path.name != 'contract.py')
    unread = [
        name
        for name in sorted(contract.RENDERED_VARIABLES)
        if not re.search(rf"(METRICS_UTILITY_|PREFIX \+ ')?{name}\b", source)
    ]
    assert unread == []


def test_limits_are_the_workers():
    env = {'METRICS_UTILITY_MAX_GATHER_PERIOD_DAYS': str(contract.MAX_GATHER_PERIOD_DAYS[1])}
    assert settings.load(env, ship=False).max_days == contract.MAX_GATHER_PERIOD_DAYS[1]
    for name, (low, high) in {
        'MAX_GATHER_PERIOD_DAYS': contract.MAX_GATHER_PERIOD_DAYS,
        'RETENTION_MAX_AGE_DAYS': contract.RETENTION_MAX_AGE_DAYS,
        'RETENTION_MAX_BYTES': contract.RETENTION_MAX_BYTES,
    }.items():
        settings.load({f'METRICS_UTILITY_{name}': str(high)}, ship=False)
        settings.load({f'METRICS_UTILITY_{name}': str(low)}, ship=False)
        below = -1 if name == 'MAX_GATHER_PERIOD_DAYS' else low - 1  # 0 days: metrics-utility's empty window, taken
        for wrong in (below, high + 1):
            with pytest.raises(ConfigError) as exc:
                settings.load({f'METRICS_UTILITY_{name}': str(wrong)}, ship=False)
            assert exc.value.problems == [
                f'METRICS_UTILITY_{name}={wrong}: expected a whole number from {low} to {high}'
            ]


def test_run_summary_keys_are_the_contracts():
    """The gather summary writes every gather key of the contract, in its order, and its blocks hold its fields."""
    from metrics_utility.gather import secondary
    from metrics_utility.gather.summary import CollectorOutcome, RunSummary
    from metrics_utility.library import retention

    known = RunSummary(
        since='a',
        until='b',
        collectors={'main_host': CollectorOutcome()},
        stored_bytes=1,
        stored_objects=1,
        retention={},
        volume={},
        backfill={},
        kpi={},
        usage={},
        started_from={},
        secondary={},
        crc={},
    )
    assert tuple(known.fields()) == contract.SUMMARY_KEYS['gather']
    assert tuple(known.to_json()) == contract.SUMMARY_KEYS['gather']
    unknown = {f.key for f in contract.SUMMARY_FIELDS if f.when_known and 'gather' in f.commands}
    assert tuple(RunSummary().to_json()) == tuple(k for k in contract.SUMMARY_KEYS['gather'] if k not in unknown)
    assert tuple(known.to_json()['window']) == contract.SUMMARY_WINDOW_FIELDS
    assert tuple(CollectorOutcome.__dataclass_fields__) == contract.SUMMARY_COLLECTOR_FIELDS
    from typing import get_args

    from metrics_utility.library.storage.crc_identity import SERVICE_ACCOUNT, IdentitySource, IdentityUsed

    assert tuple(IdentityUsed('controller').to_json()) == contract.SUMMARY_CRC_FIELDS
    assert (*get_args(IdentitySource), SERVICE_ACCOUNT) == contract.CRC_IDENTITIES
    policy = retention.Policy(max_age_days=30, max_bytes=None)
    assert tuple(retention.Outcome(policy).as_json()) == contract.SUMMARY_RETENTION_FIELDS
    assert tuple(secondary.Outcome('crc').as_json()) == contract.SUMMARY_SECONDARY_FIELDS


def test_build_report_summary_keys_are_the_contracts(tmp_path):
    """A build-report that bills a month writes every build-report key of the contract and no other."""
    from datetime import UTC, date, datetime

    from metrics_utility.cli import _parser
    from metrics_utility.commands.build_report import run
    from testsupport.report_data import synthetic

    synthetic(date(2024, 2, 28), 2).write(tmp_path / 'ship')
    summary = tmp_path / 'termination-log'
    args = _parser().parse_args(['build-report', '--summary-file', str(summary)])
    env = {
        'METRICS_UTILITY_SHIP_TARGET': 'directory',
        'METRICS_UTILITY_SHIP_PATH': str(tmp_path / 'ship'),
        'METRICS_UTILITY_REPORT_TYPE': 'CCSPv2',
    }
    assert run(args, env=env, now=datetime(2024, 3, 2, 4, tzinfo=UTC)) == 0
    assert tuple(json.loads(summary.read_text())) == contract.SUMMARY_KEYS['build-report']
