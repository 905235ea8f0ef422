"""What a check found, as data: one `CheckResult` per check, the exit code and the JSON summary of a run, and the
classification of what a peer answered into one of `contract.CHECK_REASONS`. Pure: no I/O, tested table-driven."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from metrics_utility import contract

OK = contract.CHECK_OK
HEADER_VARIABLES = {f.option: contract.PREFIX + f.variable for f in contract.HEADER_FIELDS}


@dataclass(frozen=True)
class CheckResult:
    """One check: `name` (database, tables, storage, prometheus, report, configuration), whether it passed, its
    reason code and one line a person can act on; `tables` names the tables of a table check that failed."""

    name: str
    ok: bool
    reason: str
    message: str
    tables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.reason not in contract.CHECK_REASONS:
            raise ValueError(f'unknown check reason {self.reason!r}')
        if self.ok != (self.reason == OK):
            raise ValueError(f'check {self.name}: ok={self.ok} contradicts reason {self.reason}')

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {'name': self.name, 'ok': self.ok, 'reason': self.reason, 'message': self.message}
        if self.tables:
            data['tables'] = list(self.tables)
        return data


def passed(name: str, message: str) -> CheckResult:
    return CheckResult(name, True, OK, message)


def failed(name: str, reason: str, message: str, tables: tuple[str, ...] = ()) -> CheckResult:
    return CheckResult(name, False, reason, message, tables)


def exit_code(results: Iterable[CheckResult]) -> int:
    """0 all passed, 2 the configuration is wrong (nothing could be checked), 1 a check failed."""
    results = list(results)
    if any(r.reason == 'InvalidConfiguration' for r in results):
        return contract.CHECK_CONFIG_EXIT
    return 0 if all(r.ok for r in results) else contract.CHECK_FAILED_EXIT


def summary(results: Iterable[CheckResult]) -> dict[str, Any]:
    """The run summary (`--summary-file`): `ok`, `reason` and `error` of the first failed check, and every check."""
    results = list(results)
    first = next((r for r in results if not r.ok), None)
    return {
        'command': 'check',
        'ok': first is None,
        'reason': first.reason if first else OK,
        'error': f'{first.name}: {first.message}' if first else None,
        'checks': [r.to_json() for r in results],
    }


def lines(results: Iterable[CheckResult]) -> list[str]:
    """What a person reads: one line per check, `ok` or `FAILED <reason>`."""
    return [
        f'{"ok    " if r.ok else "FAILED"} {r.name}: {r.message}' + ('' if r.ok else f' [{r.reason}]') for r in results
    ]


# ---- classification of what a peer answered --------------------------------------------------------------------

_AUTH_SQLSTATES = {'28P01', '28000'}  # invalid_password, invalid_authorization_specification (role, pg_hba)


def database_reason(sqlstate: str | None, text: str) -> str:
    """The reason for a failed connection: libpq's SQLSTATE when the server sent one, else its words."""
    lowered = text.lower()
    if sqlstate in _AUTH_SQLSTATES or 'authentication failed' in lowered or 'no password supplied' in lowered:
        return 'AuthenticationFailed'
    if sqlstate == '3D000' or ('database' in lowered and 'does not exist' in lowered):
        return 'DatabaseNotFound'
    return 'DatabaseUnreachable'


def table_reason(sqlstate: str | None) -> str | None:
    """The reason for a failed `SELECT … LIMIT 0`: no privilege, no table, or None for anything else."""
    return {'42501': 'PermissionDenied', '42P01': 'TableMissing'}.get(sqlstate or '')


def table_results(role: str, outcomes: Mapping[str, str], optional: Iterable[str] = ()) -> list[CheckResult]:
    """One `tables` result per reason from {table: reason} (OK for a readable table); a missing optional table
    passes (its collector skips it). Every table of a reason is named, so one run lists every GRANT needed."""
    optional = set(optional)
    by_reason: dict[str, list[str]] = {}
    for table, reason in sorted(outcomes.items()):
        if reason == 'TableMissing' and table in optional:
            reason = OK
        by_reason.setdefault(reason, []).append(table)
    results = []
    if denied := tuple(by_reason.pop('PermissionDenied', ())):
        grant = f'GRANT SELECT ON {", ".join(denied)} TO "{role}"'
        results.append(
            failed(
                'tables',
                'PermissionDenied',
                f'role {role!r} may not SELECT from {", ".join(denied)}; as the database owner run: {grant}',
                denied,
            )
        )
    if missing := tuple(by_reason.pop('TableMissing', ())):
        results.append(
            failed(
                'tables',
                'TableMissing',
                f'no table {", ".join(missing)} in this database; is METRICS_UTILITY_DB_NAME the controller database?',
                missing,
            )
        )
    readable = by_reason.pop(OK, [])
    for reason, tables in by_reason.items():  # a table check that failed otherwise (e.g. statement timeout)
        results.append(failed('tables', reason, f'cannot read {", ".join(tables)}', tuple(tables)))
    if not results:
        results.append(passed('tables', f'SELECT allowed on all {len(readable)} tables the collectors read'))
    return results


_DENIED = (
    'access denied',
    'accessdenied',
    'permission denied',
    'read-only file system',
    'forbidden',
    'operation not permitted',
)
_AUTH = (
    'invalidaccesskeyid',
    'signaturedoesnotmatch',
    'rejected the service account credentials',
    'rejected our client certificate',
    'closed the tls connection',
    'refused the tls handshake',
)
_NOT_FOUND = ('does not exist', 'nosuchbucket')


def storage_reason(text: str) -> str:
    """The reason for a StorageError (its message is all the storage layer keeps; each phrase is its own)."""
    lowered = text.lower()
    if any(phrase in lowered for phrase in _AUTH):
        return 'AuthenticationFailed'
    if any(phrase in lowered for phrase in _DENIED):
        return 'StorageDenied'
    if any(phrase in lowered for phrase in _NOT_FOUND):
        return 'StorageNotFound'
    return 'StorageUnreachable'


def header_result(report_type: str, header: Mapping[str, str]) -> CheckResult:
    """The report header fields `report_type` prints that are empty, by variable name (all at once)."""
    missing = [HEADER_VARIABLES[f] for f in contract.REPORT_HEADER_FIELDS[report_type] if not header.get(f, '').strip()]
    if missing:
        return failed(
            'report',
            'ReportFieldsMissing',
            f'{report_type} reports print these header fields, which are empty: {", ".join(missing)}',
        )
    return passed('report', f'{report_type}: every header field it prints is set')
