"""The pure core of `metrics-utility check`: reasons from what peers answered, grouped table results, the exit code
and the summary. Table-driven, each case with its exact outcome."""

from __future__ import annotations

import pytest

from metrics_utility import contract
from metrics_utility.check.outcomes import (
    CheckResult,
    database_reason,
    exit_code,
    failed,
    header_result,
    passed,
    storage_reason,
    summary,
    table_results,
)

DATABASE = {
    'wrong password (28P01)': ('28P01', 'FATAL: password authentication failed for user "x"', 'AuthenticationFailed'),
    'no such role (28000)': ('28000', 'FATAL: role "x" does not exist', 'AuthenticationFailed'),
    'wrong password, no sqlstate': (
        None,
        'FATAL:  password authentication failed for user "x"',
        'AuthenticationFailed',
    ),
    'server wants a password': (None, 'fe_sendauth: no password supplied', 'AuthenticationFailed'),
    'no such database (3D000)': ('3D000', 'FATAL: database "x" does not exist', 'DatabaseNotFound'),
    'no such database, no sqlstate': (None, 'FATAL:  database "x" does not exist', 'DatabaseNotFound'),
    'connection refused': (None, 'connection failed: Connection refused', 'DatabaseUnreachable'),
    'timeout': (None, 'connection timeout expired', 'DatabaseUnreachable'),
    'unknown host': (None, 'failed to resolve host "db.invalid"', 'DatabaseUnreachable'),
    'empty text': (None, '', 'DatabaseUnreachable'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('sqlstate, text, reason', DATABASE.values(), ids=list(DATABASE))
def test_database_reason(sqlstate, text, reason):
    assert database_reason(sqlstate, text) == reason


STORAGE = {
    'S3 access denied': ('cannot upload x in S3 s3://b/ at e: access denied (AccessDenied: no)', 'StorageDenied'),
    'S3 wrong key id': ('cannot upload x: access denied (InvalidAccessKeyId: k)', 'AuthenticationFailed'),
    'S3 wrong secret': ('cannot upload x: access denied (SignatureDoesNotMatch: s)', 'AuthenticationFailed'),
    'S3 no bucket': ("cannot upload x in S3 s3://b/: bucket 'b' does not exist", 'StorageNotFound'),
    'S3 unreachable': ('cannot upload x: cannot connect to http://127.0.0.1:1: refused', 'StorageUnreachable'),
    'directory denied': ('cannot write x to directory /d: Permission denied', 'StorageDenied'),
    'directory read-only': ('cannot write x to directory /d: Read-only file system', 'StorageDenied'),
    'SSO 401': (
        "SSO https://s/t rejected the service account credentials of client_id 'a' (HTTP 401)",
        'AuthenticationFailed',
    ),
    'client certificate refused': (
        'upload failed: h rejected our client certificate (tlsv13 alert)',
        'AuthenticationFailed',
    ),
    'SSO 500': ('access token request to SSO https://s/t failed: HTTP 500 down', 'StorageUnreachable'),
    'server certificate untrusted': ('failed: cannot verify the TLS certificate of h', 'StorageUnreachable'),
    'empty': ('', 'StorageUnreachable'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('text, reason', STORAGE.values(), ids=list(STORAGE))
def test_storage_reason(text, reason):
    assert storage_reason(text) == reason


TABLES = {
    'all readable': ({'a': 'Ok', 'b': 'Ok'}, [('Ok', 'SELECT allowed on all 2 tables the collectors read', ())]),
    'two denied, one missing: all named': (
        {'b': 'PermissionDenied', 'a': 'PermissionDenied', 'c': 'TableMissing', 'd': 'Ok'},
        [
            (
                'PermissionDenied',
                'role \'r\' may not SELECT from a, b; as the database owner run: GRANT SELECT ON a, b TO "r"',
                ('a', 'b'),
            ),
            (
                'TableMissing',
                'no table c in this database; is METRICS_UTILITY_DB_NAME the controller database?',
                ('c',),
            ),
        ],
    ),
    'optional table missing passes': (
        {'main_indirectmanagednodeaudit': 'TableMissing', 'a': 'Ok'},
        [('Ok', 'SELECT allowed on all 2 tables the collectors read', ())],
    ),
    'optional table denied fails': (
        {'main_indirectmanagednodeaudit': 'PermissionDenied'},
        [
            (
                'PermissionDenied',
                "role 'r' may not SELECT from main_indirectmanagednodeaudit; as the database owner "
                'run: GRANT SELECT ON main_indirectmanagednodeaudit TO "r"',
                ('main_indirectmanagednodeaudit',),
            )
        ],
    ),
    'statement failed otherwise': ({'a': 'DatabaseUnreachable'}, [('DatabaseUnreachable', 'cannot read a', ('a',))]),
}


@pytest.mark.hostile
@pytest.mark.parametrize('outcomes, expected', TABLES.values(), ids=list(TABLES))
def test_table_results(outcomes, expected):
    results = table_results('r', outcomes, optional={'main_indirectmanagednodeaudit'})
    assert [(r.reason, r.message, r.tables) for r in results] == expected
    assert all(r.name == 'tables' for r in results)


FULL_CCSP = {f: 'x' for f in contract.REPORT_HEADER_FIELDS['CCSP']}
HEADERS = {
    'CCSP complete': ('CCSP', FULL_CCSP, 'Ok', 'CCSP: every header field it prints is set'),
    'CCSP two empty (one blank)': (
        'CCSP',
        {**FULL_CCSP, 'email': '', 'sku': '  '},
        'ReportFieldsMissing',
        'CCSP reports print these header fields, which are empty: METRICS_UTILITY_REPORT_EMAIL, '
        'METRICS_UTILITY_REPORT_SKU',
    ),
    'CCSPv2 needs its end-user fields': (
        'CCSPv2',
        FULL_CCSP,
        'ReportFieldsMissing',
        'CCSPv2 reports print these header fields, which are empty: METRICS_UTILITY_REPORT_PO_NUMBER, '
        'METRICS_UTILITY_REPORT_END_USER_COMPANY_NAME, METRICS_UTILITY_REPORT_END_USER_CITY, '
        'METRICS_UTILITY_REPORT_END_USER_STATE, METRICS_UTILITY_REPORT_END_USER_COUNTRY',
    ),
    'RENEWAL_GUIDANCE prints none': (
        'RENEWAL_GUIDANCE',
        {},
        'Ok',
        'RENEWAL_GUIDANCE: every header field it prints is set',
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('kind, header, reason, message', HEADERS.values(), ids=list(HEADERS))
def test_header_result(kind, header, reason, message):
    result = header_result(kind, header)
    assert (result.name, result.reason, result.message) == ('report', reason, message)


EXITS = {
    'all passed': ([passed('database', 'm')], 0),
    'one failed': ([passed('database', 'm'), failed('storage', 'StorageDenied', 'm')], 1),
    'configuration': ([failed('configuration', 'InvalidConfiguration', 'm')], 2),
    'nothing checked': ([], 0),
}


@pytest.mark.hostile
@pytest.mark.parametrize('results, code', EXITS.values(), ids=list(EXITS))
def test_exit_code(results, code):
    assert exit_code(results) == code


def test_summary_names_the_first_failure():
    results = [
        passed('database', 'in'),
        failed('tables', 'PermissionDenied', 'no main_host', ('main_host',)),
        failed('storage', 'StorageDenied', 'no'),
    ]
    assert summary(results) == {
        'command': 'check',
        'ok': False,
        'reason': 'PermissionDenied',
        'error': 'tables: no main_host',
        'checks': [
            {'name': 'database', 'ok': True, 'reason': 'Ok', 'message': 'in'},
            {
                'name': 'tables',
                'ok': False,
                'reason': 'PermissionDenied',
                'message': 'no main_host',
                'tables': ['main_host'],
            },
            {'name': 'storage', 'ok': False, 'reason': 'StorageDenied', 'message': 'no'},
        ],
    }


RESULTS = {
    'unknown reason': (('x', False, 'Nope', 'm'), 'unknown check reason'),
    'ok with a failure reason': (('x', True, 'StorageDenied', 'm'), 'contradicts'),
    'failed with Ok': (('x', False, 'Ok', 'm'), 'contradicts'),
}


@pytest.mark.hostile
@pytest.mark.parametrize('fields, words', RESULTS.values(), ids=list(RESULTS))
def test_a_result_holds_a_known_consistent_reason(fields, words):
    with pytest.raises(ValueError, match=words):
        CheckResult(*fields)
