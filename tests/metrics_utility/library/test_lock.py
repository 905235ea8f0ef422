"""advisory_lock on a real PostgreSQL: a second holder is refused (try) or waits (wait)."""

import threading

import psycopg
import pytest

from metrics_utility.library.lock import LockHeldError, advisory_lock, detect_dead_client

pytestmark = pytest.mark.integration


def _holders(conn, name):
    return conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        'AND objid = (hashtextextended(%s, 0) & 4294967295)::oid',
        (name,),
    ).fetchone()[0]


def test_second_holder_is_refused_in_try_mode(controller_db):
    with controller_db.connect_reader() as first, controller_db.connect_reader() as second:
        with advisory_lock(first, 'gather'):
            with pytest.raises(LockHeldError, match="holds the lock 'gather'"), advisory_lock(second, 'gather'):
                pytest.fail('second holder entered the lock')
            with advisory_lock(second, 'another-name'):  # other names are independent
                pass
        with advisory_lock(second, 'gather'):  # released on exit
            assert _holders(first, 'gather') == 1


def test_lock_is_released_when_the_block_fails(controller_db):
    with controller_db.connect_reader() as first, controller_db.connect_reader() as second:
        with pytest.raises(ValueError, match='inside'), advisory_lock(first, 'gather'):
            raise ValueError('inside')
        with advisory_lock(second, 'gather'):
            pass


def test_wait_mode_waits_for_the_holder(controller_db):
    with controller_db.connect_reader() as first, controller_db.connect_reader() as second:
        entered = threading.Event()
        release = threading.Event()
        order: list[str] = []

        def hold():
            with advisory_lock(first, 'gather'):
                entered.set()
                release.wait(10)
                order.append('first released')

        holder = threading.Thread(target=hold)
        holder.start()
        assert entered.wait(10)
        releaser = threading.Timer(0.3, release.set)
        releaser.start()
        with advisory_lock(second, 'gather', mode='wait', timeout=10, poll_interval=0.05):
            order.append('second entered')
        holder.join(10)
        assert order == ['first released', 'second entered']


def test_wait_mode_gives_up_after_the_timeout(controller_db):
    with (
        controller_db.connect_reader() as first,
        controller_db.connect_reader() as second,
        advisory_lock(first, 'gather'),
        pytest.raises(LockHeldError, match='after waiting'),
        advisory_lock(second, 'gather', mode='wait', timeout=0.2, poll_interval=0.05),
    ):
        pytest.fail('entered a held lock')


def test_lock_needs_no_write_rights_and_leaves_no_transaction_open(controller_db):
    with controller_db.connect_reader() as conn:
        with advisory_lock(conn, 'gather'):
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert _holders(conn, 'gather') == 0


def test_lock_does_not_commit_the_callers_transaction(controller_db):
    with controller_db.connect_reader() as conn:
        conn.execute('SELECT 1')  # a transaction is open now
        with advisory_lock(conn, 'gather'):
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS


def test_bad_arguments(controller_db):
    with controller_db.connect_reader() as conn:
        with pytest.raises(ValueError, match='mode'), advisory_lock(conn, 'x', mode='block'):
            pass
        with pytest.raises(ValueError, match='empty'), advisory_lock(conn, ''):
            pass
    with pytest.raises(psycopg.InterfaceError, match='closed'), advisory_lock(conn, 'x'):
        pass


def test_the_refusal_never_suggests_another_lock_name():
    """Another lock name used to be the suggested way out; two gathers of one target then shipped windows twice."""
    assert str(LockHeldError('gather_automation_controller_billing_lock')) == (
        "another run holds the lock 'gather_automation_controller_billing_lock'; wait for it to finish and try again "
        '(do not give this run another lock name to get past it: runs of one target would then take turns on its '
        'state instead)'
    )


def test_detect_dead_client_sets_keepalives_and_the_connection_check(controller_db):
    with controller_db.connect_reader() as conn:
        detect_dead_client(conn)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing left open
        shown = {
            name: conn.execute(f'SHOW {name}').fetchone()[0]
            for name in ('tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count')
        }
        assert shown == {'tcp_keepalives_idle': '10', 'tcp_keepalives_interval': '5', 'tcp_keepalives_count': '3'}
        assert (
            conn.info.server_version < 140000
            or conn.execute('SHOW client_connection_check_interval').fetchone()[0] == '2s'
        )
