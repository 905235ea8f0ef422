"""Every metrics-utility name works: docs/upstream.md against the code, and the worker run with upstream values.

The tables of docs/upstream.md must list exactly the variables declared with an upstream relation, with that
relation; their commands, flags and targets must be the ones our parsers and loaders accept. Then gather (dry run on
the tiny controller database) and build-report run with each value metrics-utility 0.8 accepts and exit 0, with the
one documented warning where we accept a name without effect.
"""

from __future__ import annotations

import json
import re
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from metrics_utility.cli import _parser, main
from metrics_utility.commands import build_report, upstream_options
from metrics_utility.library.package import parse_tarball_name
from metrics_utility.settings.gather import TARGETS as GATHER_TARGETS
from metrics_utility.settings.report import BUILD_TARGETS
from metrics_utility.settings.upstream import without_effect
from metrics_utility.settings.variables import BY_NAME, VARIABLES
from testsupport import upstream_packages

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / 'docs' / 'upstream.md'
P = 'METRICS_UTILITY_'
NOW = datetime(2024, 3, 2, 4, tzinfo=UTC)
CA_PEM = trustme.CA().cert_pem.bytes().decode()
NO_EFFECT = [v.name for v in VARIABLES if v.upstream == 'no effect']


def tables(text: str) -> dict[str, dict[str, str]]:
    """section title → {name: relation} of the `| `name` | relation | … |` rows under each `## ` heading."""
    found: dict[str, dict[str, str]] = {}
    section = ''
    for line in text.splitlines():
        if line.startswith('## '):
            section = line[3:].strip()
            found[section] = {}
        elif match := re.fullmatch(r'\| `([^`]+)` \| ([a-z ]+) \|.*\|', line):
            assert match[1] not in found[section], f'{match[1]} is listed twice'
            found[section][match[1]] = match[2]
    return found


DOC_TABLES = tables(DOC.read_text())


@pytest.mark.unit
def test_the_doc_has_every_table_and_only_known_relations():
    assert list(DOC_TABLES) == ['Variables', 'Commands', 'Flags', 'Targets']
    assert {r for rows in DOC_TABLES.values() for r in rows.values()} <= {'same', 'differently', 'no effect'}


@pytest.mark.unit
def test_every_upstream_variable_is_declared_with_the_relation_the_doc_gives():
    declared = {v.name: v.upstream for v in VARIABLES if v.upstream is not None}
    assert DOC_TABLES['Variables'] == declared
    assert [v.name for v in VARIABLES if v.group == 'upstream'] == NO_EFFECT  # docs/settings.md lists them together


@pytest.mark.unit
def test_commands_and_flags_of_the_doc_are_the_parsers():
    commands = _parser()._subparsers._group_actions[0].choices  # the COMMAND choices argparse accepts
    assert set(DOC_TABLES['Commands']) <= set(commands)
    for row, relation in DOC_TABLES['Flags'].items():
        command, flag = row.split(' ')
        parser = commands[command]
        if flag.startswith('--'):
            assert flag in parser._option_string_actions, row
        else:  # a sub-command (candlepin_manage register)
            assert flag in parser._subparsers._group_actions[0].choices, row
        if relation == 'no effect' and DOC_TABLES['Commands'][command] != 'no effect':
            assert flag in upstream_options.OPTIONS, row  # a Django option, accepted with a warning
    django = {
        f'{c} {f}'
        for c in ('gather_automation_controller_billing_data', 'build_report')
        for f in upstream_options.OPTIONS
    }
    assert django <= set(DOC_TABLES['Flags'])


@pytest.mark.unit
def test_targets_of_the_doc_are_the_loaders():
    rows = DOC_TABLES['Targets']
    assert sorted(r.split(': ')[1] for r in rows if r.startswith('gather: ')) == sorted(GATHER_TARGETS)
    assert sorted(r.split(': ')[1] for r in rows if r.startswith('build_report: ')) == sorted(BUILD_TARGETS)
    assert set(BY_NAME[P + 'SHIP_TARGET'].choices) == set(GATHER_TARGETS) | set(BUILD_TARGETS)


# build-report with upstream values: no data in an empty ship directory, so every accepted run exits 0 -------------

RENEWAL = {P + 'REPORT_TYPE': 'RENEWAL_GUIDANCE'}
SHEETS_V2 = (
    'ccsp_summary,jobs,managed_nodes,indirectly_managed_nodes,inventory_scope,infrastructure_summary,'
    'usage_by_organizations,usage_by_collections,usage_by_roles,usage_by_modules,data_collection_status,'
    'managed_nodes_by_organizations'
)
SHEETS_V1 = (
    'ccsp_summary,managed_nodes,indirectly_managed_nodes,inventory_scope,usage_by_collections,usage_by_roles,'
    'usage_by_modules,usage_by_organizations,managed_nodes_by_organizations'
)
DEFAULT_SHEETS = (
    'ccsp_summary,managed_nodes,usage_by_organizations,usage_by_collections,usage_by_roles,usage_by_modules'
)
AAP_HEADER = {P + 'REPORT_SKU': 'MCT3752MO', P + 'REPORT_COMPANY_BUSINESS_LEADER': 'B', P + 'REPORT_END_USER_CITY': 'C'}
BUILD = [  # (id, env, argv): values metrics-utility 0.8 accepts
    ('type-ccsp', {P + 'REPORT_TYPE': 'CCSP'}, []),
    ('type-ccspv2', {}, ['--month=2024-02']),
    ('month-one-digit', {}, ['--month=2024-2']),
    ('since-until', {}, ['--since=2024-02-01', '--until=2024-02-29']),
    ('since-until-datetimes', {}, ['--since=2024-02-01T10:00:00', '--until=2024-02-29 10:00:00+02:00']),
    ('force-verbose', {}, ['--force', '--verbose']),
    ('format-xlsx', {}, ['--format=xlsx']),
    ('sheets-upstream-default', {P + 'OPTIONAL_CCSP_REPORT_SHEETS': DEFAULT_SHEETS}, []),
    ('sheets-trailing-comma', {P + 'OPTIONAL_CCSP_REPORT_SHEETS': 'ccsp_summary,managed_nodes,'}, []),
    ('sheets-every-v2', {P + 'OPTIONAL_CCSP_REPORT_SHEETS': SHEETS_V2}, []),
    ('sheets-every-v1', {P + 'REPORT_TYPE': 'CCSP', P + 'OPTIONAL_CCSP_REPORT_SHEETS': SHEETS_V1}, []),
    ('dedup-ccsp', {P + 'DEDUPLICATOR': 'ccsp'}, []),
    ('dedup-ccsp-experimental', {P + 'DEDUPLICATOR': 'ccsp-experimental'}, []),
    ('org-filter-trailing-semicolon', {P + 'ORGANIZATION_FILTER': 'Org A;Org B;'}, []),
    ('price-integer', {P + 'PRICE_PER_NODE': '11'}, []),
    ('price-decimal', {P + 'PRICE_PER_NODE': '11.50'}, []),
    ('price-three-decimals', {P + 'PRICE_PER_NODE': '11.555'}, []),
    *((f'price-{v}', {P + 'PRICE_PER_NODE': v}, []) for v in ('+5', '1e3', '1E-2', '1_000', '.5', '5.')),
    ('header-fields', {P + 'REPORT_SKU': 'MCT3752MO', P + 'REPORT_SKU_DESCRIPTION': 'EX: Red Hat Ansible (Managed '
                       'Node, Premium)', P + 'REPORT_COMPANY_NAME': 'Ünïcode GmbH', P + 'REPORT_EMAIL': 'a@b.example',
                       P + 'REPORT_RHN_LOGIN': 'rhn', P + 'REPORT_PO_NUMBER': '123'}, []),
    ('ship-path-trailing-slash', {'trailing_slash': '1'}, []),
    ('renewal-12-months', RENEWAL, ['--since=12months', '--ephemeral=1month']),
    ('shared-configmap-gather-variables', {P + 'OPTIONAL_COLLECTORS': 'main_host,total_workers_vcpu',
                                           P + 'CLUSTER_NAME': 'c', P + 'MAX_GATHER_PERIOD_DAYS': '7',
                                           P + 'BILLING_PROVIDER': 'aws', P + 'COLLECTOR_LOCK_SUFFIX': 'x'}, []),
    *((f'renewal-since-{s}', RENEWAL, [f'--since={s}'])
      for s in ('5d', '5day', '5days', '2mo', '2mon', '2month', '2months', '10m', '10min', '10minute', '10minutes',
                '2024-02-01')),
    *((f'renewal-ephemeral-{e}', RENEWAL, ['--since=2mo', f'--ephemeral={e}'])
      for e in ('30d', '30day', '30days', '2mo', '2month', '2months', '0d')),
    *((f'renewal-dedup-{d}', {**RENEWAL, P + 'DEDUPLICATOR': d}, ['--since=2mo'])
      for d in ('renewal', 'renewal-hostname', 'renewal-experimental')),
    *((f'renewal-iterations-{n}', {**RENEWAL, 'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': n}, ['--since=2mo'])
      for n in ('0', '5', '5000')),
]  # fmt: skip


def _build(tmp_path: Path, env: dict[str, str], argv: list[str], capsys) -> tuple[int, str]:
    ship = tmp_path / 'ship'
    ship.mkdir()
    path = str(ship) + ('/' if env.pop('trailing_slash', None) else '')
    base = {P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': path, P + 'REPORT_TYPE': 'CCSPv2'}
    code = build_report.run(_parser().parse_args(['build_report', *argv]), env={**base, **env}, now=NOW)
    return code, capsys.readouterr().err


@pytest.mark.unit
@pytest.mark.parametrize(('env', 'argv'), [c[1:] for c in BUILD], ids=[c[0] for c in BUILD])
def test_build_report_accepts_every_upstream_value(tmp_path, capsys, env, argv):
    assert _build(tmp_path, dict(env), argv, capsys) == (0, '')


@pytest.mark.unit
@pytest.mark.parametrize('name', NO_EFFECT)
def test_build_report_names_a_variable_without_effect_once(tmp_path, capsys, name):
    code, err = _build(tmp_path, {name: 'Secret-Value-1'}, [], capsys)
    assert (code, err) == (
        0,
        f'{build_report.PROG}: warning: {name} is set but has no effect here: {BY_NAME[name].doc}\n',
    )


HOSTILE = [  # (id, env, argv, exit code, stderr)
    ('format-ods', {}, ['--format=ods'], 0,
     f'{build_report.PROG}: warning: --format=ods is accepted but the report is written as XLSX (LibreOffice opens '
     'it)\n'),
    ('format-ods-mixed-case', {}, ['--format= ODS'], 0,
     f'{build_report.PROG}: warning: --format=ods is accepted but the report is written as XLSX (LibreOffice opens '
     'it)\n'),
    ('format-pdf', {}, ['--format=pdf'], 2,
     f"{build_report.PROG}: invalid configuration:\n  - --format='pdf' is not a report format; expected xlsx or ods\n"),
    ('no-effect-blank', {P + 'GATHER_INTERVAL_HOURS': '  '}, [], 0, ''),
    ('no-effect-empty', {P + 'RH_PASSWORD': ''}, [], 0, ''),
    ('no-effect-multiline', {P + 'GATHER_INTERVAL_HOURS': 'line1\nline2'}, [], 0,
     f'{build_report.PROG}: warning: {P}GATHER_INTERVAL_HOURS is set but has no effect here: '
     f'{BY_NAME[P + "GATHER_INTERVAL_HOURS"].doc}\n'),
    ('no-effect-nul', {P + 'GATHER_INTERVAL_HOURS': 'tr\x00ue'}, [], 2,
     f'{build_report.PROG}: warning: {P}GATHER_INTERVAL_HOURS is set but has no effect here: '
     f'{BY_NAME[P + "GATHER_INTERVAL_HOURS"].doc}\n'
     f'{build_report.PROG}: invalid configuration:\n  - {P}GATHER_INTERVAL_HOURS contains a NUL byte; remove it\n'),
    ('candlepin-password-multiline', {P + 'RH_PASSWORD': 'line1\nline2'}, [], 0, ''),  # the candlepin command's
    ('candlepin-password-nul', {P + 'RH_PASSWORD': 'pa\x00ss'}, [], 2,
     f'{build_report.PROG}: invalid configuration:\n  - {P}RH_PASSWORD contains a NUL byte; remove it\n'),
    ('report-type-spaces', {P + 'REPORT_TYPE': ' CCSPv2 '}, [], 0, ''),
    ('report-type-lower-case-refused-as-upstream', {P + 'REPORT_TYPE': 'ccspv2'}, [], 2,
     f"{build_report.PROG}: invalid configuration:\n  - {P}REPORT_TYPE='ccspv2' is not a report type; expected one of: "
     'CCSP, CCSPv2, RENEWAL_GUIDANCE (case-sensitive)\n'),
    ('ship-target-mixed-case-refused-as-upstream', {P + 'SHIP_TARGET': 'Controller_DB'}, [], 2,
     f"{build_report.PROG}: invalid configuration:\n  - {P}SHIP_TARGET='Controller_DB' is not supported here; expected "
     'one of: directory, s3, controller_db\n'),
    ('ephemeral-zero-months', RENEWAL, ['--since=2mo', '--ephemeral=0months'], 0, ''),
    ('month-single-digit-13', {}, ['--month=2024-13'], 2,
     f"{build_report.PROG}: invalid configuration:\n  - --month='2024-13' is not a month; expected YYYY-MM, e.g. "
     '2024-02\n'),
]  # fmt: skip


DJANGO = [  # metrics-utility's Django options as a cron line may give them
    ('verbosity', ['--verbosity=2'], ['--verbosity']),
    ('v', ['-v', '3'], ['--verbosity']),
    ('traceback-no-color', ['--traceback', '--no-color'], ['--traceback', '--no-color']),
    ('settings-pythonpath', ['--settings=awx.settings', '--pythonpath=/var/lib/awx'], ['--settings', '--pythonpath']),
    ('force-color-skip-checks', ['--force-color', '--skip-checks'], ['--force-color', '--skip-checks']),
]


@pytest.mark.unit
@pytest.mark.parametrize(('argv', 'named'), [c[1:] for c in DJANGO], ids=[c[0] for c in DJANGO])
def test_build_report_names_each_django_option_once(tmp_path, capsys, argv, named):
    code, err = _build(tmp_path, {}, argv, capsys)
    warnings = ''.join(
        f'{build_report.PROG}: warning: {flag} (a Django option of metrics-utility) has no effect here: '
        f'{upstream_options.OPTIONS[flag][1]}\n'
        for flag in named
    )
    assert (code, err) == (0, warnings)


@pytest.mark.hostile
@pytest.mark.parametrize(('env', 'argv', 'code', 'stderr'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_upstream_values_in_odd_forms(tmp_path, capsys, env, argv, code, stderr):
    assert _build(tmp_path, dict(env), argv, capsys) == (code, stderr)


# gather (dry run on the tiny controller database) with upstream values --------------------------------------------

UPSTREAM_COLLECTORS = (
    'main_host,main_host_daily,main_hostmetric,main_jobevent,main_indirectmanagednodeaudit,'
    'total_workers_vcpu,controller_version_service,credentials_service,execution_environments,'
    'job_host_summary_service,main_jobevent_service,table_metadata,unified_jobs'
)
WINDOW = ['--since=2024-02-28', '--until=2024-02-29']
GATHER = [  # (id, env, argv)
    ('every-upstream-collector', {P + 'OPTIONAL_COLLECTORS': UPSTREAM_COLLECTORS, P + 'CLUSTER_NAME': 'c1',
                                  P + 'USAGE_BASED_METERING_ENABLED': 'false'}, WINDOW),
    ('collectors-empty', {P + 'OPTIONAL_COLLECTORS': ''}, WINDOW),
    ('collectors-trailing-comma', {P + 'OPTIONAL_COLLECTORS': 'main_jobevent,'}, WINDOW),
    *((f'disable-jhs-{v}', {P + 'DISABLE_JOB_HOST_SUMMARY_COLLECTOR': v, P + 'OPTIONAL_COLLECTORS': 'main_host'},
       WINDOW) for v in ('true', 'True', 'TRUE', '1', 'false', 'False', '0')),
    ('disable-save', {P + 'DISABLE_SAVE_LAST_GATHERED_ENTRIES': 'true'}, WINDOW),
    ('max-days-3650', {P + 'MAX_GATHER_PERIOD_DAYS': '3650'}, WINDOW),
    ('lock-suffix', {P + 'COLLECTOR_LOCK_SUFFIX': 'vcpu'}, WINDOW),
    ('crc-settings', {P + 'SHIP_TARGET': 'crc', P + 'BILLING_PROVIDER': 'aws', P + 'BILLING_ACCOUNT_ID': '123456789012',
                      P + 'RED_HAT_ORG_ID': '1234', P + 'SERVICE_ACCOUNT_ID': 'id', P + 'SERVICE_ACCOUNT_SECRET': 's',
                      P + 'CRC_INGRESS_URL': 'https://console.redhat.com/api/ingress/v1/upload'}, WINDOW),
    ('relative-window', {}, ['--since=2d', '--until=10m']),
    ('relative-minutes', {}, ['--since=90min', '--until=10minutes']),
    ('verbose', {}, [*WINDOW, '--verbose']),
    ('shared-configmap-renewal', {P + 'REPORT_TYPE': 'RENEWAL_GUIDANCE', P + 'DEDUPLICATOR': 'renewal-experimental',
                                  'REPORT_RENEWAL_GUIDANCE_DEDUP_ITERATIONS': '0', P + 'PRICE_PER_NODE': '1e3',
                                  P + 'OPTIONAL_CCSP_REPORT_SHEETS': SHEETS_V2,
                                  P + 'ORGANIZATION_FILTER': 'A;'}, WINDOW),
    ('shared-configmap-ccsp', {P + 'REPORT_TYPE': 'CCSP', P + 'DEDUPLICATOR': 'ccsp-experimental',
                               P + 'OPTIONAL_CCSP_REPORT_SHEETS': SHEETS_V1, **AAP_HEADER}, WINDOW),
]  # fmt: skip


def _gather(tiny_db, tmp_path: Path, env: dict[str, str], argv: list[str], capsys) -> tuple[int, str]:
    base = {**tiny_db.reader_env(), P + 'SHIP_TARGET': 'directory', P + 'SHIP_PATH': str(tmp_path)}
    code = main(
        ['gather_automation_controller_billing_data', '--dry-run', f'--output={tmp_path / "out"}', *argv],
        env={**base, **env},
    )
    return code, capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.parametrize(('env', 'argv'), [c[1:] for c in GATHER], ids=[c[0] for c in GATHER])
def test_gather_accepts_every_upstream_value(tiny_db, tmp_path, capsys, env, argv):
    code, err = _gather(tiny_db, tmp_path, env, argv, capsys)
    assert code == 0, err


@pytest.mark.integration
def test_gather_names_each_variable_and_django_option_without_effect_once(tiny_db, tmp_path, capsys):
    argv = [*WINDOW, '-v', '2', '--traceback']
    code, err = _gather(tiny_db, tmp_path, dict.fromkeys(NO_EFFECT, 'Secret-Value-1'), argv, capsys)
    logged = [json.loads(line)['message'] for line in err.splitlines() if line.startswith('{')]
    warned = [m for m in logged if 'has no effect here' in m]
    django = upstream_options.warnings(_parser().parse_args(['gather', '-v', '2', '--traceback']))
    assert (code, warned, 'Secret-Value-1' in err) == (0, without_effect(dict.fromkeys(NO_EFFECT, 'x')) + django, False)
    assert len(warned) == len(NO_EFFECT) + 2 == 8  # Candlepin's variables have an effect now (identity, command)


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('argv', 'code', 'out', 'err'),
    [
        (
            [
                'register',
                '--username=u',
                '--password=Secret-Value-1',
                '--org=o',
                '--force',
                '--dry-run',
                '--proxy=http://p:3128',
                '--candlepin-url=https://c',
                '--candlepin-ca={ca}',
            ],
            0,
            "dry run: would register a consumer in organization 'o' at https://c\n",
            '',
        ),
        (
            ['renew'],
            1,
            '',
            'metrics-utility candlepin: no identity in {dir}; run `metrics-utility candlepin register` first\n',
        ),
        (
            ['renew', '--force', '--dry-run', '--verbosity=2'],
            1,
            '',
            'metrics-utility candlepin: warning: --verbosity (a Django option of metrics-utility) has no effect here: '
            '--verbose turns on debug logging\n'
            'metrics-utility candlepin: no identity in {dir}; run `metrics-utility candlepin register` first\n',
        ),
    ],
    ids=['register-every-flag', 'renew', 'renew-force-django-option'],
)
def test_candlepin_manage_takes_every_upstream_flag(capsys, tmp_path, argv, code, out, err):
    """metrics-utility's command line runs the real command (tests/metrics_utility/commands/test_candlepin_manage.py
    covers what it does); a password given as a flag is never echoed."""
    ca = tmp_path / 'ca.pem'
    ca.write_text(CA_PEM)
    env = {P + 'CANDLEPIN_CERT_DIR': str(tmp_path / 'certs')}
    assert main(['candlepin_manage', *(a.format(ca=ca) for a in argv)], env) == code
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (out, err.format(dir=tmp_path / 'certs'))
    assert 'Secret-Value-1' not in captured.out + captured.err


# The AAP operator's CronJobs with the ConfigMap the Red Hat documentation writes ----------------------------------

AAP_DOCS_CONFIGMAP = {
    P + 'SHIP_TARGET': 'directory',
    P + 'REPORT_TYPE': 'CCSPv2',
    P + 'PRICE_PER_NODE': '11',
    P + 'REPORT_SKU': 'MCT3752MO',
    P + 'REPORT_SKU_DESCRIPTION': 'EX: Red Hat Ansible Automation Platform, Full Support (1 Managed Node, Dedicated, '
    'Monthly)',
    P + 'REPORT_H1_HEADING': 'CCSP NA Direct Reporting Template',
    P + 'REPORT_COMPANY_NAME': 'Partner A',
    P + 'REPORT_EMAIL': 'email@email.com',
    P + 'REPORT_RHN_LOGIN': 'test_login',
    P + 'REPORT_COMPANY_BUSINESS_LEADER': 'BUSINESS LEADER',
    P + 'REPORT_COMPANY_PROCUREMENT_LEADER': 'PROCUREMENT LEADER',
}


def assert_upstream_layout(claim: Path) -> None:
    """Every package sits where metrics-utility 0.8 puts its own and holds its members: `data/<UTC day of since>/`,
    named `<install_uuid>-<since>-<until>-<index>-<key>.tar.gz` as upstream names it, with `./<key>.csv`,
    `./config.json`, `./data_collection_status.csv` and `./manifest.json` (ours adds `./package_info.json`; an empty
    window has no `./<key>.csv`, where upstream writes a header-only one: docs/collectors.md)."""
    packages = sorted(claim.glob('data/**/*.tar.gz'))
    with_data = 0
    for path in packages:
        parsed = parse_tarball_name(path.name)
        assert parsed is not None, path.name
        assert path.name == upstream_packages.name(
            parsed.install_uuid, parsed.since, parsed.until, parsed.index, parsed.key
        )
        assert path.parent.relative_to(claim).as_posix() == parsed.since.astimezone(UTC).strftime('data/%Y/%m/%d')
        with tarfile.open(path) as tar:
            members = set(tar.getnames())
        metadata = {'./config.json', './data_collection_status.csv', './manifest.json'}
        assert metadata <= members and members - metadata <= {f'./{parsed.key}.csv', './package_info.json'}, members
        with_data += f'./{parsed.key}.csv' in members
    assert with_data > 0, packages


@pytest.mark.integration
def test_the_aap_cronjob_commands_run_with_the_documented_configmap(tiny_db, tmp_path, capsys):
    """`gather_automation_controller_billing_data --ship --until=10m` then `build_report` (the two CronJob commands),
    on a claim mounted where the ConfigMap's SHIP_PATH points (with a trailing slash, as some admins write it)."""
    env = {**tiny_db.reader_env(), **AAP_DOCS_CONFIGMAP, P + 'SHIP_PATH': f'{tmp_path}/'}
    assert main(['gather_automation_controller_billing_data', '--ship', '--until=10m'], env=env) == 0
    assert (
        main(
            ['gather_automation_controller_billing_data', '--ship', '--since=2024-02-28', '--until=2024-03-01'], env=env
        )
        == 0
    )
    assert_upstream_layout(tmp_path)
    assert main(['build_report'], env=env) == 0  # the previous month: no data, no report
    assert main(['build_report', '--since=2024-02-28', '--until=2024-02-29'], env=env) == 0
    err = capsys.readouterr().err
    assert 'has no effect here' not in err and 'invalid configuration' not in err
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.glob('reports/*/*/*.xlsx')] == [
        'reports/2024/02/CCSPv2-2024-02-28--2024-02-29.xlsx'
    ]
