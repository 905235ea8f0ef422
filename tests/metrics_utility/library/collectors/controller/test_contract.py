"""The collector contract as the controller collectors implement it: validation at call time, empty results."""

import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest

from metrics_utility.library.collectors import CollectorError, CollectorParameterError, controller, registry

from .conftest import FULL

WINDOWED = [
    name
    for name in controller.__all__
    if 'since' in inspect.signature(getattr(controller, name).__wrapped__).parameters
]
EMPTY = (datetime(2019, 1, 1, tzinfo=UTC), datetime(2019, 1, 2, tzinfo=UTC))


def test_every_collector_is_registered_with_key_version_and_format():
    for name in controller.__all__:
        factory = getattr(controller, name)
        assert (registry.CONFIG if name == 'config' else registry.COLLECTORS[name]) is factory
        assert factory.info.key == name and factory.info.version and factory.info.format in ('csv', 'json')
    assert controller.config.info.format == 'json'
    assert len(WINDOWED) == 9


@pytest.mark.parametrize('name', WINDOWED)
def test_bad_parameters_fail_at_call_time(name, reader_conn):
    factory = getattr(controller, name)
    since, until = FULL
    with pytest.raises(CollectorParameterError, match='no timezone'):
        factory(db=reader_conn, since=datetime(2024, 2, 27), until=until)
    with pytest.raises(CollectorParameterError, match='must be before'):
        factory(db=reader_conn, since=until, until=since)
    with pytest.raises(CollectorParameterError, match='unknown parameter'):
        factory(db=reader_conn, since=since, until=until, limit=3)
    with pytest.raises(CollectorParameterError, match='since is required'):
        factory(db=reader_conn, since=None, until=until)
    with pytest.raises(CollectorParameterError, match='max_file_bytes'):
        factory(db=reader_conn, since=since, until=until, max_file_bytes=0)
    with pytest.raises(CollectorParameterError, match='psycopg connection'):
        factory(db='postgresql://x', since=since, until=until)


@pytest.mark.parametrize('name', controller.__all__)
def test_closed_connection(name, controller_db):
    factory = getattr(controller, name)
    params = {'since': FULL[0], 'until': FULL[1]} if name in WINDOWED else {}
    conn = controller_db.connect_reader()
    initialised = factory(db=conn, **params)
    conn.close()
    with pytest.raises(CollectorError, match='closed'):
        initialised.gather()
    with pytest.raises(CollectorParameterError, match='closed'):
        factory(db=conn, **params)


@pytest.mark.parametrize('name', WINDOWED)
def test_empty_window_returns_empty_list_and_writes_nothing(name, reader_conn, tmp_path: Path):
    assert getattr(controller, name)(db=reader_conn, since=EMPTY[0], until=EMPTY[1], output_dir=tmp_path).gather() == []
    assert list(tmp_path.iterdir()) == []


def test_default_output_dir_is_a_fresh_private_directory(reader_conn):
    initialised = controller.unified_jobs(db=reader_conn, since=FULL[0], until=FULL[1])
    folder = initialised.params['output_dir']
    assert folder.is_dir() and list(folder.iterdir()) == []
    files = initialised.gather()
    assert [f.parent for f in files] == [folder]


def test_collectors_leave_no_transaction_open(reader_conn, gather):
    gather(controller.job_host_summary, db=reader_conn, since=FULL[0], until=FULL[1])
    assert reader_conn.info.transaction_status.name == 'IDLE'
