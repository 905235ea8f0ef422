"""The registry lists every collector a gather may run, as the contract declares them, without import side effects."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from metrics_utility import contract
from metrics_utility.library.collectors import CollectorParameterError, RunContext, collector, registry

pytestmark = pytest.mark.unit


def test_the_registry_is_the_contract_key_by_key():
    declared = {
        key: (factory.info.key, factory.info.kind, factory.info.format) for key, factory in registry.COLLECTORS.items()
    }
    assert declared == {c.key: (c.key, c.kind, c.format) for c in contract.COLLECTORS}
    assert registry.CONFIG.info.key == 'config' and 'config' not in registry.COLLECTORS


def test_kinds_split_the_keys_as_the_contract_does():
    keys = list(contract.COLLECTOR_KEYS)
    assert registry.snapshot_keys(keys) == [k for k in keys if k in contract.SNAPSHOT_KEYS]
    assert registry.windowed_keys(keys) == [k for k in keys if k not in contract.SNAPSHOT_KEYS]


def test_decorating_registers_nothing():
    @collector('registry_probe', '1.0', 'json', kind='snapshot')
    def probe() -> dict:
        return {}

    assert 'registry_probe' not in registry.COLLECTORS


def test_each_collector_takes_what_it_needs_of_a_run(reader_conn, tmp_path: Path):
    since, until = datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 1, 2, tzinfo=UTC)
    context = RunContext(db=reader_conn, since=since, until=until, output_dir=tmp_path / 'out')
    windowed = registry.COLLECTORS['job_host_summary'].for_run(context)
    snapshot = registry.COLLECTORS['main_host'].for_run(context)
    assert (windowed.params['since'], windowed.params['until']) == (since, until)
    assert windowed.params['output_dir'] == snapshot.params['output_dir'] == tmp_path / 'out'
    assert 'since' not in snapshot.params and 'until' not in snapshot.params
    vcpu = registry.COLLECTORS['total_workers_vcpu'].for_run(
        context, {'cluster_name': 'c', 'prometheus_url': 'https://prom:9091'}
    )
    assert vcpu.params['until'] == until and 'db' not in vcpu.params


BAD_DECLARATIONS = {
    'kind misspelt': ({'kind': 'Windowed'}, "kind must be windowed or snapshot, got 'Windowed'"),
    'kind empty': ({'kind': ''}, "kind must be windowed or snapshot, got ''"),
    'format unknown': ({'format': 'xml', 'kind': 'snapshot'}, "format must be csv or json, got 'xml'"),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('given', 'message'), BAD_DECLARATIONS.values(), ids=list(BAD_DECLARATIONS))
def test_a_collector_declared_wrongly_is_refused(given: dict, message: str):
    arguments = {'format': 'json', **given}
    with pytest.raises(ValueError) as caught:
        collector('bad_probe', '1.0', **arguments)
    assert str(caught.value) == message


ACCEPTED = 'db, output_dir, max_file_bytes'
BAD_RUN_PARAMS = {
    'unknown extra parameter': ({'rows': 3}, f'main_host: unknown parameter(s) rows; accepted: {ACCEPTED}'),
    'a window given to a snapshot': (
        {'since': datetime(2019, 1, 1)},
        f'main_host: unknown parameter(s) since; accepted: {ACCEPTED}',
    ),
    'zero file size': ({'max_file_bytes': 0}, 'main_host: max_file_bytes must be a positive whole number, got 0'),
}


@pytest.mark.hostile
@pytest.mark.parametrize(('extra', 'message'), BAD_RUN_PARAMS.values(), ids=list(BAD_RUN_PARAMS))
def test_bad_extra_parameters_of_a_run_are_refused_with_the_collectors_message(reader_conn, tmp_path, extra, message):
    context = RunContext(
        db=reader_conn,
        since=datetime(2019, 1, 1, tzinfo=UTC),
        until=datetime(2019, 1, 2, tzinfo=UTC),
        output_dir=tmp_path,
    )
    with pytest.raises(CollectorParameterError) as caught:
        registry.COLLECTORS['main_host'].for_run(context, extra)
    assert str(caught.value) == message
