"""Fixtures of the serve tests: a demo storage (the synthetic controller database gathered by the CLI, with February's
CCSPv2 and CCSP reports built by the CLI) and the API served from it on a real loopback port."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from metrics_utility.cli import main
from metrics_utility.library.storage import StorageDirectory
from metrics_utility.library.usage_periods import UsageReader
from metrics_utility.serve.app import Served, make_app

MONTH = '2024-02'
TODAY = date(2026, 12, 6)  # the served 'today' (ranges reaching past it are refused relative to it)


def storage_env(ship: Path) -> dict[str, str]:
    return {'METRICS_UTILITY_SHIP_TARGET': 'directory', 'METRICS_UTILITY_SHIP_PATH': str(ship)}


@pytest.fixture(scope='module')
def demo_storage(controller_db, tmp_path_factory) -> Path:
    """27 Feb – 1 Mar 2024 of the demo database gathered with `gather --ship`; February's CCSPv2 (every sheet) and
    CCSP reports built with `build-report`."""
    ship = tmp_path_factory.mktemp('ship')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith('METRICS_UTILITY_')},
        **controller_db.reader_env(),
        **storage_env(ship),
        'METRICS_UTILITY_OPTIONAL_COLLECTORS': 'main_jobevent,main_host,main_indirectmanagednodeaudit',
    }
    assert main(['gather', '--ship', '--since', '2024-02-27', '--until', '2024-03-02'], env=env) == 0
    for kind in ('CCSPv2', 'CCSP'):
        assert main(['build-report', '--month', MONTH, '--sheets', 'all', '--type', kind], env=env) == 0
    return ship


@pytest_asyncio.fixture
async def api(demo_storage: Path) -> AsyncIterator[TestClient]:
    """The API over the demo storage on a loopback port (no access check: the loopback mode)."""
    storage = StorageDirectory(demo_storage)
    served = Served(storage, UsageReader(storage), today=lambda: TODAY)
    async with TestClient(TestServer(make_app(served))) as client:
        yield client
