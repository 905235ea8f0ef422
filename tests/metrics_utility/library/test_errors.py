"""Every error a command ends with carries its exit code, and `commands.failed` answers all of them the same way."""

from __future__ import annotations

import pytest

from metrics_utility.cli import UsageError
from metrics_utility.commands import failed
from metrics_utility.gather.backfill import ShardError
from metrics_utility.gather.interval import IntervalError
from metrics_utility.gather.runner import GatherError
from metrics_utility.gather.state import StateError
from metrics_utility.gather.wiring import CollectorFailedError
from metrics_utility.library.collectors import CollectorError, CollectorParameterError
from metrics_utility.library.errors import MetricsUtilityError, SetupError
from metrics_utility.library.lock import LockHeldError
from metrics_utility.library.package import PackageError
from metrics_utility.library.storage import StorageError
from metrics_utility.settings.common import ConfigError
from metrics_utility.settings.when import WhenError

pytestmark = pytest.mark.unit

EXIT_CODES = {
    'ConfigError': (ConfigError(['METRICS_UTILITY_SHIP_PATH is empty']), 2),
    'UsageError': (UsageError('metrics-utility', 'unrecognized arguments: --x'), 2),
    'WhenError': (WhenError('--since is empty'), 2),
    'IntervalError': (IntervalError('--since is after --until'), 2),
    'ShardError': (ShardError('--shard needs --ship'), 2),
    'SetupError': (SetupError('cannot set up s3: bad bucket'), 2),
    'CollectorParameterError': (CollectorParameterError('main_host: unknown parameter(s) x'), 2),
    'GatherError': (GatherError('cannot connect to the controller database'), 1),
    'StateError': (StateError('state unreadable'), 1),
    'StorageError': (StorageError('put failed'), 1),
    'CollectorError': (CollectorError('query failed'), 1),
    'CollectorFailedError': (CollectorFailedError('main_host failed'), 1),
    'LockHeldError': (LockHeldError('gather_lock'), 1),
    'PackageError': (PackageError('no install_uuid'), 1),
}


@pytest.mark.parametrize(('error', 'code'), EXIT_CODES.values(), ids=list(EXIT_CODES))
def test_every_error_carries_its_exit_code(error: MetricsUtilityError, code: int):
    assert isinstance(error, MetricsUtilityError)
    assert error.exit_code == code


ANSWERS = {
    'a server answer of several lines gives its first': (
        StorageError('upload refused (HTTP 500)\n<html>\n<body>trace</body>'),
        'metrics-utility gather: upload refused (HTTP 500)\n',
        1,
    ),
    'a credential in the text is redacted': (
        GatherError('cannot connect: postgresql://metrics:hunter2@db/awx refused'),
        'metrics-utility gather: cannot connect: postgresql://metrics:***@db/awx refused\n',
        1,
    ),
    'every configuration problem is listed': (
        ConfigError(['METRICS_UTILITY_SHIP_PATH is empty', '--since is empty']),
        'metrics-utility gather: invalid configuration:\n'
        '  - METRICS_UTILITY_SHIP_PATH is empty\n  - --since is empty\n',
        2,
    ),
    'an empty message names the error': (StateError(''), 'metrics-utility gather: StateError\n', 1),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('error', 'line', 'code'), ANSWERS.values(), ids=list(ANSWERS))
def test_the_one_answer_is_a_redacted_message_and_the_exit_code(capsys, error, line, code):
    assert failed('metrics-utility gather', error) == code
    assert capsys.readouterr().err == line
