"""The command line answers every input with one readable message, an exit code and a run summary.

Run in-process through `main(argv, env)` against a database on a closed local port (nothing is ever reached) and a
storage in a temporary directory: exit 2 for bad arguments and configuration, 1 for a failed run, never a
traceback. With --summary-file the summary is written for every outcome, also when argparse refuses the command
line, because the operator reads it from the pod's termination message.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics_operator import worker_summary as operator_summary
from metrics_utility import contract
from metrics_utility.cli import main
from metrics_utility.commands import build_report as report_command
from metrics_utility.commands import gather as gather_command
from metrics_utility.library import instants
from metrics_utility.settings.gather import KNOWN_COLLECTORS

pytestmark = pytest.mark.unit

P = 'METRICS_UTILITY_'
G, B = 'metrics-utility gather', 'metrics-utility build-report'
CLOSED_PORT = '1'  # nothing listens there: a connection is refused at once, never sent anywhere


def base_env(root: Path) -> dict[str, str]:
    (root / 'ship').mkdir(exist_ok=True)
    return {
        P + 'DB_HOST': '127.0.0.1',
        P + 'DB_PORT': CLOSED_PORT,
        P + 'SHIP_TARGET': 'directory',
        P + 'SHIP_PATH': str(root / 'ship'),
        P + 'REPORT_TYPE': 'CCSPv2',
    }


def config(prog: str, problem: str) -> tuple[str, str]:
    """(stderr, summary error) of an invalid configuration with one problem."""
    if prog == G:
        return f'{G}: invalid configuration:\n  - {problem}\n', f'invalid configuration:\n  - {problem}'
    return f'{B}: invalid configuration:\n  - {problem}\n', f'invalid configuration: {problem}'


def usage(prog: str, message: str) -> tuple[str, str]:
    return f'{prog}: {message} (see {prog} --help)\n', f'{message} (see {prog} --help)'


THIS_MONTH = f'{instants.now():%Y-%m}'
TODAY = instants.now().date().isoformat()
OUT = 'is out of range: it reaches before the year 0001'
S3_BAD = {P + 'SHIP_TARGET': 's3', P + 'BUCKET_NAME': 'bucket', P + 'BUCKET_ENDPOINT': 'http://[::1'}
S3_SETUP = 'cannot set up S3 s3://bucket/{ship}/ at http://[::1: Invalid IPv6 URL'

CASES = [
    # (id, argv, extra env, exit code, (stderr, summary error))
    ('gather-since-99999999d', ['gather', '--since', '99999999d'], {}, 2, config(G, f"--since='99999999d' {OUT}")),
    ('gather-since-30000mo', ['gather', '--since', '30000mo'], {}, 2, config(G, f"--since='30000mo' {OUT}")),
    ('gather-since-huge-integer', ['gather', '--since', '9' * 5000 + 'd'], {}, 2,
     config(G, f"--since='{'9' * 200}'… (5001 characters) {OUT}")),
    ('gather-until-offset-into-10000', ['gather', '--until', '9999-12-31T23:59:59-01:00'], {}, 2,
     config(G, "--until='9999-12-31T23:59:59-01:00' is out of range in UTC; years run from 0001 to 9999")),
    ('gather-since-year-0', ['gather', '--since', '0000-12-31'], {}, 2,
     config(G, "--since='0000-12-31' is out of range; years run from 0001 to 9999")),
    ('gather-until-year-1-horizon', ['gather', '--until', '0001-01-02'], {}, 2,
     config(G, '--until 0001-01-02T00:00:00+00:00 is too early: the look-back horizon of 28 days reaches before '
               'the year 0001')),
    ('gather-since-after-until', ['gather', '--since', '2024-01-02', '--until', '2024-01-01'], {}, 2,
     config(G, '--since 2024-01-02T00:00:00+00:00 is not before --until 2024-01-01T00:00:00+00:00')),
    ('gather-since-empty', ['gather', '--since', ''], {}, 2,
     config(G, '--since is empty; expected an ISO date or datetime (2024-02-29, 2024-02-29T10:00:00Z) or a relative '
               'form such as 10m, 2h, 3d or 1mo')),
    ('gather-since-0d', ['gather', '--since=0d'], {}, 2,
     config(G, "--since='0d': days count from 1 (1d is today 00:00 UTC, 2d yesterday 00:00)")),
    ('gather-retention-age-negative', ['gather', '--retention-max-age-days', '-5'], {}, 2,
     config(G, '--retention-max-age-days=-5: expected a whole number from 1 to 36500')),
    ('gather-retention-age-text', ['gather', '--retention-max-age-days', 'x'], {}, 2,
     config(G, "--retention-max-age-days='x': expected a whole number from 1 to 36500")),
    ('gather-retention-bytes-float', ['gather', '--retention-max-bytes=1e309'], {}, 2,
     config(G, "--retention-max-bytes='1e309': expected a whole number from 0 to 4611686018427387904")),
    ('gather-collectors-empty', ['gather', '--collectors', ''], {}, 2,
     config(G, '--collectors names no collector: expected some of job_host_summary, job_host_summary_service, '
               'main_host, main_host_daily, main_hostmetric, main_indirectmanagednodeaudit, main_jobevent, '
               'main_jobevent_service, unified_jobs, execution_environments, credentials_service, '
               'controller_version_service, table_metadata, total_workers_vcpu')),
    ('gather-output-empty', ['gather', '--output', ' '], {}, 2,
     config(G, '--output is empty; expected the directory that keeps the packages of a dry run')),
    ('gather-summary-file-empty', ['gather', '--summary-file='], {}, 2,  # the test's own --summary-file follows
     usage(G, "argument --summary-file: is empty; expected a file path, or '-' for stdout")),
    ('gather-nul-in-variable', ['gather'], {P + 'DB_NAME': 'awx\x00'}, 2,
     config(G, f'{P}DB_NAME contains a NUL byte; remove it')),
    ('gather-unknown-flag', ['gather', '--bogus'], {}, 2, usage(G, 'unrecognized arguments: --bogus')),
    ('gather-missing-value', ['gather', '--since'], {}, 2, usage(G, 'argument --since: expected one argument')),
    ('gather-ship-and-dry-run', ['gather', '--ship', '--dry-run'], {}, 2,
     usage(G, 'argument --dry-run: not allowed with argument --ship')),
    ('legacy-name-unknown-flag', ['gather_automation_controller_billing_data', '-x'], {}, 2,
     usage(G, 'unrecognized arguments: -x')),
    ('no-command', [], {}, 2, ('metrics-utility: the following arguments are required: COMMAND (see metrics-utility '
                               '--help)\n', None)),
    ('unknown-command', ['gahter'], {}, 2,
     ("metrics-utility: argument COMMAND: invalid choice: 'gahter' (choose from 'gather', "
      "'gather_automation_controller_billing_data', 'build-report', 'build_report', 'candlepin', 'candlepin_manage', "
      "'check', 'reports', 'serve', 'demo') "
      '(see metrics-utility --help)\n', None)),
    ('report-month-year-0', ['build-report', '--month', '0000-01'], {}, 2,
     config(B, f"--month='0000-01' is out of range; expected a month from 1970-01 to this month ({THIS_MONTH})")),
    ('report-month-arabic-indic', ['build-report', '--month', '٢٠٢٤-٠١'], {}, 2,
     config(B, "--month='٢٠٢٤-٠١' is not a month; expected YYYY-MM, e.g. 2024-02")),
    ('report-month-empty', ['build-report', '--month', ''], {}, 2,
     config(B, "--month='' is not a month; expected YYYY-MM, e.g. 2024-02")),
    ('report-until-9999-12-31', ['build-report', '--since', '2024-01-01', '--until', '9999-12-31'], {}, 2,
     config(B, f'--until 9999-12-31 is after today ({TODAY}); a report covers days that have begun')),
    ('report-since-before-1970', ['build-report', '--since', '0001-01-01'], {}, 2,
     config(B, '--since 0001-01-01 is before 1970-01-01; a report covers 1970-01-01 to today')),
    ('report-since-30000mo', ['build-report', '--since', '30000mo'], {}, 2, config(B, f"--since='30000mo' {OUT}")),
    ('report-ephemeral-huge', ['build-report', '--type', 'RENEWAL_GUIDANCE', '--since', '3d', '--ephemeral',
                               '9' * 5000 + 'd'], {}, 2,
     config(B, f"--ephemeral='{'9' * 200}'… (5001 characters); expected Nd or Nmonths from 0d (none) to 3650d (a month "
               'counts as 30 days; e.g. 30d, 2months)')),
    ('report-type-empty', ['build-report', '--type', ''], {}, 2,
     config(B, '--type is empty; expected one of: CCSP, CCSPv2, RENEWAL_GUIDANCE')),
    ('report-iterations-superscript', ['build-report'], {'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '²'}, 2,
     config(B, "REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS='²'; expected a whole number from 0 to 1000000")),
    ('report-ship-path-nul', ['build-report'], {P + 'SHIP_PATH': 'a\x00b'}, 2,
     (f"{B}: invalid configuration:\n  - {P}SHIP_PATH contains a NUL byte; remove it\n  - {P}SHIP_PATH='a\\x00b' "
      'is not an existing directory\n',
      f"invalid configuration: {P}SHIP_PATH contains a NUL byte; remove it; {P}SHIP_PATH='a\\x00b' is not an "
      'existing directory')),
    ('report-s3-endpoint-unusable', ['build-report'], S3_BAD, 2, None),  # was exit 1, 'storage failed'
    ('report-unknown-flag', ['build-report', '--bogus'], {}, 2, usage(B, 'unrecognized arguments: --bogus')),
    ('report-legacy-name', ['build_report', '--month'], {}, 2,
     usage('metrics-utility build_report', 'argument --month: expected one argument')),
]  # fmt: skip


def run_main(argv: list[str], env: dict[str, str], capsys) -> tuple[int, str, str]:
    code = main(argv, env)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.hostile
@pytest.mark.parametrize(('argv', 'extra', 'code', 'expected'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_command_lines_get_one_message_an_exit_code_and_a_summary(
    tmp_path, capsys, argv, extra, code, expected
):
    env = {**base_env(tmp_path), **extra}
    summary_file = tmp_path / 'termination-log'
    with_summary = [*argv, f'--summary-file={summary_file}'] if argv else argv
    got, _, err = run_main(with_summary, env, capsys)
    if expected is None:  # a storage that cannot be set up names the temporary ship path
        message = S3_SETUP.format(ship=str(tmp_path / 'ship').strip('/'))
        expected = (f'{B}: {message}\n', message)
    stderr, error = expected
    assert (got, err) == (code, stderr)
    if error is None:  # no command: nothing says which summary to write
        assert not summary_file.exists()
        return
    written = json.loads(summary_file.read_text())
    assert written['ok'] is False and written['error'] == error
    assert written['command'] == ('gather' if argv[0].startswith('gather') else 'build-report')


@pytest.mark.hostile
def test_an_abbreviated_summary_flag_still_gets_the_summary_of_a_usage_error(tmp_path, capsys):
    """argparse accepts unambiguous abbreviations, so the summary of a refused command line must find them too."""
    summary_file = tmp_path / 'summary.json'
    code, _, err = run_main(['gather', '--summary', str(summary_file), '--until'], base_env(tmp_path), capsys)
    assert code == 2 and err == usage(G, 'argument --until: expected one argument')[0]
    assert json.loads(summary_file.read_text())['error'] == usage(G, 'argument --until: expected one argument')[1]


@pytest.mark.hostile
def test_a_summary_path_with_a_nul_byte_is_one_warning_and_the_run_still_answers(tmp_path, capsys):
    code, _, err = run_main(['gather', '--since', '0d', '--summary-file', 'a\x00b'], base_env(tmp_path), capsys)
    assert code == 2
    problem = config(G, "--since='0d': days count from 1 (1d is today 00:00 UTC, 2d yesterday 00:00)")[0]
    assert err == "metrics-utility: could not write the run summary to 'a\\x00b': embedded null byte\n" + problem


def test_help_and_version_exit_0(capsys):
    assert main(['gather', '--help']) == 0
    assert main(['--version']) == 0
    assert 'metrics-utility' in capsys.readouterr().out


@pytest.mark.hostile
def test_a_real_process_exits_2_without_a_traceback(tmp_path):
    """The same contract through the console entry point, as cron and the pod run it."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(P)}, **base_env(tmp_path)}
    summary_file = tmp_path / 'termination-log'
    argv = [
        sys.executable,
        '-m',
        'metrics_utility.cli',
        'gather',
        '--ship',
        '--since',
        '99999999d',
        f'--summary-file={summary_file}',
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, config(G, f"--since='99999999d' {OUT}")[0])
    assert json.loads(summary_file.read_text())['ok'] is False


# --- Property: whatever the arguments and environment, one answer ---------------------------------------------------

JUNK = st.one_of(
    st.text(max_size=12),  # any code point, NUL and surrogates' neighbours included
    st.sampled_from(
        [
            '',
            ' ',
            '\t',
            '\x00',
            'nan',
            'inf',
            '-inf',
            '1e309',
            '-1',
            '0',
            '٣',
            '²',
            '1_000',
            '9' * 5000,
            'x' * 5000,
            'true',
            'maybe',
            'null',
            '-',
            '=',
            'é' * 300,
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
NUMBERS = st.one_of(st.integers(min_value=-10, max_value=10**20).map(str), JUNK)
BOOLEANS = st.one_of(st.sampled_from(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ' TRUE ']), JUNK)
RELATIVE = st.builds(
    '{}{}'.format,
    st.integers(min_value=-3, max_value=10**12),
    st.sampled_from(['m', 'h', 'd', 'mo', 'months', 'y', ' D']),
)
INSTANTS = st.one_of(
    st.sampled_from(
        [
            '3d',
            '1d',
            '0d',
            '10m',
            '0m',
            '2h',
            '1mo',
            '2024-02-29',
            '2024-02-29T10:30:00Z',
            '0000-01-01',
            '10000-01-01',
            '9999-12-31T23:59:59-01:00',
            '0001-01-01T00:00+01:00',
            '9999-12-31T23:59:59',
            '99999999d',
            '30000mo',
            '-3d',
            '٣d',
            ' 3D ',
            '2024-13-01',
        ]
    ),
    RELATIVE,
    JUNK,
)
RECENT = st.one_of(  # build-report builds valid periods for real: keep those short (an empty storage, few days)
    st.sampled_from(
        [
            '3d',
            '1d',
            '0d',
            '2mo',
            '0000-01-01',
            '10000-01-01',
            '99999999d',
            '30000mo',
            '-3d',
            '٣d',
            '9999-12-31',
            '1969-12-31',
            '2024-13-01',
        ]
    ),
    st.dates(
        min_value=instants.now().date() - timedelta(days=20), max_value=instants.now().date() + timedelta(days=3)
    ).map(date.isoformat),
    JUNK,
)
URLS = st.sampled_from(
    ['', 'http://127.0.0.1:1', 'ftp://127.0.0.1:1', 'http://[::1', 'x' * 300, 'http://u:p@127.0.0.1:1']
)  # never a host name to resolve: nothing leaves the machine
COLLECTORS = st.one_of(st.lists(st.sampled_from((*KNOWN_COLLECTORS, 'bogus', '')), max_size=4).map(','.join), JUNK)
SHIP_TARGETS = st.one_of(st.sampled_from(['directory', 's3', 'crc', 'Directory', ' s3 ']), JUNK)


def _options(draw, flags: dict[str, st.SearchStrategy[str]]) -> list[str]:
    argv: list[str] = []
    for flag, values in flags.items():
        if draw(st.booleans()):
            value = draw(values)
            argv += [f'{flag}={value}'] if draw(st.booleans()) else [flag, value]
    return argv


def _environment(draw, variables: dict[str, st.SearchStrategy[str]]) -> dict[str, str]:
    return {name: draw(values) for name, values in variables.items() if draw(st.booleans())}


COMMON_VARIABLES = {
    P + 'SHIP_TARGET': SHIP_TARGETS, P + 'BUCKET_NAME': st.one_of(st.just('bucket'), JUNK),
    P + 'BUCKET_ENDPOINT': st.sampled_from(['', 'ftp://x', 'http://[::1', 'x' * 300]),  # never a reachable S3
    P + 'BUCKET_ACCESS_KEY': JUNK, P + 'BUCKET_SECRET_KEY': JUNK, P + 'BUCKET_REGION': JUNK,
    P + 'PUSHGATEWAY_URL': URLS, P + 'PUSHGATEWAY_TIMEOUT': NUMBERS, P + 'PUSHGATEWAY_GROUPING': JUNK,
    P + 'DEDUPLICATOR': st.one_of(st.sampled_from(['ccsp', 'renewal', 'ccsp-experimental']), JUNK),
    P + 'ORGANIZATION_FILTER': JUNK, P + 'REPORT_TYPE': st.one_of(st.sampled_from(['CCSP', 'CCSPv2',
                                                                                   'RENEWAL_GUIDANCE']), JUNK),
}  # fmt: skip
GATHER_VARIABLES = COMMON_VARIABLES | {
    P + 'DB_HOST': st.sampled_from(['127.0.0.1', '/nonexistent-socket-dir', 'h' * 300, '127.0.0.1\x00']),
    P + 'DB_PORT': st.sampled_from([CLOSED_PORT, '0', '65536', 'x', '٣', '-1', ' 1 ', '1e3']),  # never a live port
    P + 'DB_NAME': JUNK,
    P + 'DB_USER': JUNK,
    P + 'DB_PASSWORD': JUNK,
    P + 'DB_SSLMODE': st.one_of(st.sampled_from(['disable', 'require', 'verify-full']), JUNK),
    P + 'OPTIONAL_COLLECTORS': COLLECTORS,
    P + 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR': BOOLEANS,
    P + 'DISABLE_SAVE_LAST_GATHERED_ENTRIES': BOOLEANS,
    P + 'MAX_GATHER_PERIOD_DAYS': NUMBERS,
    P + 'COLLECTOR_LOCK_SUFFIX': JUNK,
    P + 'BILLING_PROVIDER': st.one_of(st.just('aws'), JUNK),
    P + 'BILLING_ACCOUNT_ID': st.one_of(st.just('123456789012'), st.just('١٢٣٤٥٦٧٨٩٠١٢'), JUNK),
    P + 'SERVICE_ACCOUNT_ID': JUNK,
    P + 'SERVICE_ACCOUNT_SECRET': JUNK,
    P + 'CRC_INGRESS_URL': URLS,
    P + 'CRC_SSO_URL': URLS,
    P + 'CLUSTER_NAME': JUNK,
    P + 'USAGE_BASED_METERING_ENABLED': BOOLEANS,
    P + 'PROMETHEUS_URL': URLS,
    P + 'COMPRESSION': st.one_of(st.sampled_from(['gzip-6', 'isal-1', 'gzip-10']), JUNK),
    P + 'PACKAGE_MAX_BYTES': NUMBERS,
    P + 'MONTH_USAGE': BOOLEANS,
    P + 'RETENTION_MAX_AGE_DAYS': NUMBERS,
    P + 'RETENTION_MAX_BYTES': NUMBERS,
    P + 'RETENTION_UPLOAD_STATE': JUNK,
    P + 'ELASTICSEARCH_URL': URLS,
    P + 'ELASTICSEARCH_USERNAME': JUNK,
    'JOB_COMPLETION_INDEX': NUMBERS,
}
REPORT_VARIABLES = COMMON_VARIABLES | {
    P + 'OPTIONAL_CCSP_REPORT_SHEETS': st.one_of(st.sampled_from(['all', 'ccsp_summary,managed_nodes', 'bogus']), JUNK),
    'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': NUMBERS,
    P + 'PRICE_PER_NODE': st.one_of(st.sampled_from(['11', '11.555', '-0.01', '1e309', 'NaN', '١١']), NUMBERS),
    P + 'REPORT_COMPANY_NAME': JUNK,
    P + 'REPORT_PO_NUMBER': JUNK,
    P + 'ADDITIONAL_SHIP_PATHS': JUNK,
}


@st.composite
def gather_runs(draw, root: Path) -> tuple[list[str], dict[str, str]]:
    argv = [
        'gather',
        *_options(
            draw,
            {
                '--since': INSTANTS,
                '--until': INSTANTS,
                '--collectors': COLLECTORS,
                '--shard': st.one_of(st.sampled_from(['0/2', '1/1', '2', '2/2', '99999999999999999999/3']), JUNK),
                '--retention-max-age-days': NUMBERS,
                '--retention-max-bytes': NUMBERS,
                '--output': st.sampled_from([str(root / 'out'), '/proc/no-such-dir', '']),
            },
        ),
    ]
    argv += draw(st.lists(st.sampled_from(['--ship', '--dry-run', '--verbose', '--bogus', '-x']), max_size=2))
    env = {**base_env(root), **_environment(draw, GATHER_VARIABLES)}
    env[P + 'SHIP_PATH'] = draw(st.sampled_from([str(root / 'ship'), str(root / 'missing'), '', 'a\x00b']))
    env[P + 'STATE_PATH'] = draw(st.sampled_from([str(root / 'state.json'), '', '/proc/x/state.json']))
    return argv, env


@st.composite
def report_runs(draw, root: Path) -> tuple[list[str], dict[str, str]]:
    argv = [
        'build-report',
        *_options(
            draw,
            {
                '--month': st.one_of(
                    st.sampled_from(['0000-01', '9999-12', '2026-13', '1969-12', f'{THIS_MONTH}', '٢٠٢٤-٠١']), JUNK
                ),
                '--since': RECENT,
                '--until': RECENT,
                '--type': st.one_of(st.sampled_from(['CCSP', 'CCSPv2', 'RENEWAL_GUIDANCE']), JUNK),
                '--sheets': st.one_of(st.sampled_from(['all', 'ccsp_summary', 'bogus', ' , ']), JUNK),
                '--ephemeral': st.one_of(st.sampled_from(['30d', '2months', '0d', '3651d', '99999999999d']), JUNK),
                '--also-from': st.sampled_from([str(root / 'other'), str(root / 'ship'), 's3://', 'ftp://x', '']),
            },
        ),
    ]
    argv += draw(st.lists(st.sampled_from(['--force', '--rebuild-rollups', '--verbose', '--bogus']), max_size=2))
    env = {**base_env(root), **_environment(draw, REPORT_VARIABLES)}
    env[P + 'SHIP_PATH'] = draw(st.sampled_from([str(root / 'ship'), str(root / 'missing'), '', 'a\x00b']))
    return argv, env


def fresh_logging() -> None:
    """Logging as a new process has it. gather binds the `metrics_utility` logger, build-report's basicConfig the
    root logger, to the sys.stderr of their first in-process run, which capsys has closed since."""
    package = logging.getLogger('metrics_utility')
    package.handlers[:], package.propagate = [], True
    root = logging.getLogger()
    for handler in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(handler)


def check_one_answer(command: str, argv: list[str], env: dict[str, str], summary_file: Path, capsys) -> None:
    """The property: exit 0, 1 or 2; on failure exactly one message; the summary written, parseable, truthful."""
    summary_file.unlink(missing_ok=True)
    fresh_logging()
    code, _, err = run_main([*argv, f'--summary-file={summary_file}'], env, capsys)
    assert code in (0, 1, 2)
    assert 'Traceback' not in err and 'internal error' not in err, err
    messages = [
        line
        for line in err.splitlines()
        if line.startswith(f'metrics-utility {command}: ') and ': warning: ' not in line
    ]
    assert len(messages) == (0 if code == 0 else 1), err
    text = summary_file.read_text(encoding='utf-8')
    written = json.loads(text)
    assert written['command'] == command and written['ok'] is (code == 0)
    assert set(written) <= set(contract.SUMMARY_KEYS[command])  # the keys the operator knows
    assert code == 0 or (isinstance(written['error'], str) and written['error'])
    parsed = operator_summary.parse(text)  # what the operator reads from the termination message
    assert parsed is not None and parsed.ok is (code == 0)


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('command', 'runs'), [('gather', gather_runs), ('build-report', report_runs)], ids=['gather', 'build-report']
)
@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_property_a_command_answers_any_arguments_and_environment(tmp_path_factory, capsys, command, runs, data):
    root = tmp_path_factory.mktemp(command)
    argv, env = data.draw(runs(root))
    check_one_answer(command, argv, env, root / 'termination-log', capsys)


@pytest.mark.hostile
@pytest.mark.parametrize('command', ['gather', 'build-report'])
def test_a_bug_is_one_line_and_a_summary_and_its_text_never_leaks(tmp_path, capsys, monkeypatch, command):
    """The last guard of main(): an exception nobody handled names its type and place, not its text (which may
    hold a secret), exits 1 and still writes the summary."""
    module = gather_command if command == 'gather' else report_command

    def broken(args, env=None):
        raise KeyError('s3cr3t-password')

    monkeypatch.setattr(module, 'run', broken)
    summary_file = tmp_path / 'termination-log'
    code, _, err = run_main([command, f'--summary-file={summary_file}'], base_env(tmp_path), capsys)
    line = broken.__code__.co_firstlineno + 1
    message = f'internal error (KeyError at test_cli.py:{line}); please report it'
    assert (code, err) == (1, f'metrics-utility {command}: {message}\n')
    written = json.loads(summary_file.read_text())
    assert (written['command'], written['ok'], written['error']) == (command, False, message)


@pytest.mark.hostile
def test_an_empty_summary_path_is_refused_in_one_line(tmp_path, capsys):
    """Not two messages (the refusal, then a failed write of its summary to '')."""
    code, _, err = run_main(['gather', '--summary-file='], base_env(tmp_path), capsys)
    assert (code, err) == (2, usage(G, "argument --summary-file: is empty; expected a file path, or '-' for stdout")[0])


ESCAPING = {
    'gather, a run failure': ('gather', 'StateError', 1, 'metrics-utility gather', 'state unreadable'),
    'build-report, a user error': ('build-report', 'ConfigError', 2, 'metrics-utility build-report', 'invalid'),
}


@pytest.mark.parametrize(('command', 'error', 'code', 'prog', 'first'), ESCAPING.values(), ids=list(ESCAPING))
def test_an_error_escaping_a_command_gets_the_same_answer_from_the_guard(
    monkeypatch, tmp_path, capsys, command, error, code, prog, first
):
    """Commands answer their own errors; one that escapes (a future bug) still gets its line, exit code and summary,
    never the internal-error line."""
    from metrics_utility.gather.state import StateError
    from metrics_utility.settings.common import ConfigError

    raised = StateError('state unreadable\nsecond line') if error == 'StateError' else ConfigError(['invalid'])

    def escaping(args, env=None):
        raise raised

    module = gather_command if command == 'gather' else report_command
    monkeypatch.setattr(module, 'run', escaping)
    summary_file = tmp_path / 'summary.json'
    assert main([command, '--summary-file', str(summary_file)], env={}) == code
    assert capsys.readouterr().err == f'{prog}: {raised.message}\n'
    assert raised.message.startswith(first if error == 'StateError' else 'invalid configuration:\n  - invalid')
    assert json.loads(summary_file.read_text())['error'] == raised.message
