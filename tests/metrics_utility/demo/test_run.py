"""`metrics-utility demo` (what `make demo` runs): database, gather, report, all in one go."""

import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from metrics_utility.demo.run import DemoOptions, run_demo

pytestmark = [pytest.mark.integration, pytest.mark.slow]
VENV_PROGRAM = Path(sys.executable).parent / 'metrics-utility'
PROGRAM = os.path.relpath(VENV_PROGRAM) if VENV_PROGRAM.is_relative_to(Path.cwd()) else str(VENV_PROGRAM)


@pytest.fixture
def output():
    """A folder the PostgreSQL user can reach even when the tests run as root (pytest's tmp_path is private)."""
    folder = Path(tempfile.mkdtemp(prefix='demo-test-'))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_demo_runs_the_whole_job(output):
    tmp_path = output
    out = io.StringIO()
    assert run_demo(DemoOptions(tmp_path, scale='tiny', days=2, seed=3), out=out) == 0
    text = out.getvalue()
    assert 'main_jobhostsummary' in text and 'gather exit code 0' in text
    packages = list((tmp_path / 'ship' / 'data').rglob('*.tar.gz'))
    (report,) = list((tmp_path / 'ship' / 'reports').rglob('*.xlsx'))
    assert packages and f'Report: {report}' in text
    assert 'Usage Reporting' in load_workbook(report, read_only=True).sheetnames
    assert not (tmp_path / 'postgres' / 'data' / 'postmaster.pid').exists()  # the server was stopped
    ending = text[text.index('$ metrics-utility check') :].splitlines()  # the preflight, then the dashboard
    assert [line.split(':')[0] for line in ending[:5]] == [
        '$ metrics-utility check',
        'ok     database',
        'ok     tables',
        'ok     storage',
        'check exit code 0',
    ]
    ship = (tmp_path / 'ship').resolve()
    assert ending[5:] == [
        '',
        'Dashboard over this storage (Ctrl-C stops it):',
        f'  METRICS_UTILITY_SHIP_TARGET=directory METRICS_UTILITY_SHIP_PATH={ship} {PROGRAM} serve --port 8080',
        'then open http://127.0.0.1:8080/',
    ]
