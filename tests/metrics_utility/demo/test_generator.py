"""The synthetic data generator: deterministic, sized per scale, and full of the awkward cases real installs have."""

import hashlib
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml

from metrics_utility.demo.generator import SCALES, SECRET_SETTINGS, DatasetSpec, generate, plan

START = datetime(2024, 2, 27, tzinfo=UTC)


def _digest(spec: DatasetSpec) -> str:
    digest = hashlib.sha256()
    for table, chunk in generate(spec):
        digest.update(table.encode())
        digest.update(chunk.encode())
    return digest.hexdigest()


@pytest.mark.unit
def test_same_seed_same_bytes_other_seed_other_bytes():
    spec = DatasetSpec('small', START, days=2, seed=3)
    assert _digest(spec) == _digest(DatasetSpec('small', START, days=2, seed=3))
    assert _digest(spec) != _digest(DatasetSpec('small', START, days=2, seed=4))


@pytest.mark.unit
def test_tiny_is_exactly_the_scenario():
    rows = Counter()
    for table, chunk in generate(DatasetSpec('tiny', START, days=2, seed=1)):
        rows[table] += chunk.count('\n')
    # 5 scenario jobs a day + 1 still running at the end; the last day's midnight-crossing job is running too.
    assert rows['main_job'] == 11
    # Per finished day: site 10 hosts + localhost, lab 2, network 1, midnight 2, ad hoc 1 = 17; last day 15.
    assert rows['main_jobhostsummary'] == 32
    assert rows['main_host'] == 12  # 13 scenario hosts, one deleted
    assert rows['main_organization'] == 2
    assert rows['main_unifiedjob'] == 11 + 2  # plus one project update a day


@pytest.mark.unit
@pytest.mark.parametrize(
    ('scale', 'low', 'high'), [('small', 400, 1_500), ('medium', 34_000, 48_000), ('large', 340_000, 480_000)]
)
def test_planned_summaries_per_day_match_the_scale(scale, low, high):
    """Counted from the plan (cheap even for `large`): one summary per host of each job finished by the end."""
    generated = plan(DatasetSpec(scale, START, days=1, seed=5))
    finished = [j for j in generated._jobs if j.created + timedelta(seconds=j.duration + 7) <= generated.spec.end]
    summaries = sum(len(j.hosts) + len(j.extra_hosts) for j in finished)
    assert low <= summaries <= high, summaries
    assert len(generated.hours) <= 24


@pytest.mark.unit
def test_scales_grow_by_the_documented_factors():
    assert SCALES['large'].jobs_per_day == 10 * SCALES['medium'].jobs_per_day
    assert SCALES['tiny'].jobs_per_day == 0


@pytest.mark.unit
@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'scale': 'huge'}, 'unknown scale'),
        ({'start': datetime(2024, 1, 1)}, 'timezone-aware'),
        ({'days': 0}, 'days must be'),
    ],
)
def test_bad_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DatasetSpec(**kwargs)


# -- the loaded standard dataset ------------------------------------------------------------------------------------

integration = pytest.mark.integration


def _one(conn: psycopg.Connection, query: str, *params):
    return conn.execute(query, params).fetchone()[0]


@integration
def test_host_names_repeat_across_inventories(owner_conn):
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM (SELECT name FROM main_host GROUP BY name HAVING count(DISTINCT inventory_id) > 1) d',
        )
        > 0
    )
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM (SELECT lower(name) FROM main_host GROUP BY lower(name) '
            'HAVING count(DISTINCT name) > 1) d',
        )
        > 0
    )


@integration
def test_host_variables_come_in_every_shape(owner_conn):
    kinds = Counter()
    for (variables,) in owner_conn.execute('SELECT variables FROM main_host'):
        if not variables.strip():
            kinds['empty'] += 1
            continue
        try:
            parsed = json.loads(variables)
            kinds['json with ansible_host' if 'ansible_host' in parsed else 'json without'] += 1
            kinds['json nested only' if 'ansible_host' not in parsed and 'ansible_host' in variables else ''] += 1
            continue
        except json.JSONDecodeError:
            if variables.lstrip().startswith('{'):
                kinds['malformed json'] += 1
                continue
        try:
            parsed = yaml.safe_load(variables)
            kinds['yaml with ansible_host' if isinstance(parsed, dict) and 'ansible_host' in parsed else 'yaml'] += 1
            if '#' in variables and '"' in variables:
                kinds['yaml quoted with comment'] += 1
        except yaml.YAMLError:
            kinds['malformed yaml'] += 1
    for kind in (
        'empty',
        'json with ansible_host',
        'json nested only',
        'malformed json',
        'yaml with ansible_host',
        'yaml quoted with comment',
        'malformed yaml',
    ):
        assert kinds[kind] > 0, (kind, kinds)
    assert _one(owner_conn, "SELECT count(*) FROM main_host WHERE variables ~ 'ansible_port: [^0-9]'") > 0


@integration
def test_unreachable_only_and_deleted_hosts(owner_conn):
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM main_jobhostsummary '
            'WHERE dark > 0 AND ok + failures + skipped + ignored + rescued = 0',
        )
        > 0
    )
    # Deleted hosts: summaries keep the name with NULL host_id; their events point at a host that no longer exists.
    assert (
        _one(
            owner_conn,
            "SELECT count(*) FROM main_jobhostsummary WHERE host_id IS NULL AND host_name = 'old01.example.com'",
        )
        > 0
    )
    assert (
        _one(owner_conn, "SELECT count(*) FROM main_jobhostsummary WHERE host_id IS NULL AND host_name = 'localhost'")
        > 0
    )
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM main_jobevent e WHERE e.host_id IS NOT NULL '
            'AND NOT EXISTS (SELECT 1 FROM main_host h WHERE h.id = e.host_id)',
        )
        > 0
    )
    assert _one(owner_conn, 'SELECT count(*) FROM main_hostmetric WHERE deleted AND last_deleted IS NOT NULL') > 0


@integration
def test_jobs_cross_midnight_and_some_still_run(owner_conn):
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM main_unifiedjob u JOIN main_job j ON j.unifiedjob_ptr_id = u.id '
            "WHERE date_trunc('day', u.created) <> date_trunc('day', u.finished)",
        )
        > 0
    )
    running = owner_conn.execute(
        "SELECT u.id FROM main_unifiedjob u WHERE status = 'running' AND finished IS NULL"
    ).fetchall()
    assert running
    assert (
        _one(owner_conn, 'SELECT count(*) FROM main_jobhostsummary WHERE job_id = ANY(%s)', [r[0] for r in running])
        == 0
    )
    assert _one(owner_conn, "SELECT count(*) FROM main_unifiedjob WHERE launch_type = 'sync'") > 0
    job_type = "(SELECT id FROM django_content_type WHERE model = 'job')"
    no_template = f'SELECT count(*) FROM main_unifiedjob WHERE unified_job_template_id IS NULL AND polymorphic_ctype_id = {job_type}'  # noqa: E501
    assert _one(owner_conn, no_template) > 0
    statuses = {s for (s,) in owner_conn.execute('SELECT DISTINCT status FROM main_unifiedjob')}
    assert {'successful', 'failed', 'running'} <= statuses


@integration
def test_event_data_is_awkward_but_valid_json_text(owner_conn):
    assert _one(owner_conn, r"SELECT count(*) FROM main_jobevent WHERE strpos(event_data, '\u0000') > 0") > 0
    assert _one(owner_conn, r"SELECT count(*) FROM main_jobevent WHERE strpos(event_data, '\ud83d') > 0") > 0
    assert _one(owner_conn, "SELECT count(*) FROM main_jobevent WHERE event_data ~ '[^\\x01-\\x7f]'") > 0
    with pytest.raises(psycopg.errors.UntranslatableCharacter):  # why collectors must not cast naively
        owner_conn.execute(r"SELECT event_data::jsonb FROM main_jobevent WHERE strpos(event_data, '\u0000') > 0")
    owner_conn.rollback()
    modules, roles = set(), set()
    for (data,) in owner_conn.execute("SELECT event_data FROM main_jobevent WHERE event LIKE 'runner_on_%%'"):
        parsed = json.loads(data)  # every event_data is valid JSON text
        modules.add((parsed['task_action'], parsed['resolved_action']))
        if 'resolved_role' in parsed:
            roles.add(parsed['resolved_role'])
    assert ('yum', 'ansible.builtin.dnf') in modules  # a redirect
    assert any(a != r for a, r in modules) and any(a == r for a, r in modules)
    assert 'redhat.rhel_system_roles.timesync' in roles


@integration
def test_summaries_agree_with_the_events(owner_conn):
    """Each summary's ok/failed/skipped/unreachable counts equal the result events of that (job, host)."""
    mismatches = _one(
        owner_conn,
        """
        WITH ev AS (
            SELECT job_id, host_name,
                   count(*) FILTER (WHERE event = 'runner_on_ok') AS ok,
                   count(*) FILTER (WHERE event = 'runner_on_skipped') AS skipped,
                   count(*) FILTER (WHERE event = 'runner_on_unreachable') AS dark,
                   count(*) FILTER (WHERE event = 'runner_on_failed') AS failed,
                   count(*) FILTER (WHERE event = 'runner_on_ok' AND changed) AS changed
            FROM main_jobevent GROUP BY job_id, host_name)
        SELECT count(*) FROM main_jobhostsummary s JOIN ev USING (job_id, host_name)
        WHERE s.ok <> ev.ok OR s.skipped <> ev.skipped OR s.dark <> ev.dark
           OR s.failures + s.ignored + s.rescued <> ev.failed OR s.changed <> ev.changed""",
    )
    assert mismatches == 0
    assert _one(owner_conn, 'SELECT count(*) FROM main_jobhostsummary WHERE failed <> (dark > 0 OR failures > 0)') == 0


@integration
def test_indirect_nodes_settings_and_instances(owner_conn, controller_db):
    assert _one(owner_conn, 'SELECT count(*) FROM main_indirectmanagednodeaudit') > 0
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM main_indirectmanagednodeaudit '
            "WHERE jsonb_typeof(events) = 'array' AND canonical_facts ? 'fqdn'",
        )
        > 0
    )
    uuid = _one(owner_conn, "SELECT value #>> '{}' FROM conf_setting WHERE key = 'INSTALL_UUID'")
    assert uuid == controller_db.install_uuid
    assert _one(owner_conn, "SELECT value ->> 'license_type' FROM conf_setting WHERE key = 'LICENSE'") == 'enterprise'
    for key, secret in SECRET_SETTINGS.items():
        assert _one(owner_conn, "SELECT value #>> '{}' FROM conf_setting WHERE key = %s", key) == secret
    assert _one(owner_conn, 'SELECT count(*) FROM main_instance WHERE enabled') == 2


@integration
def test_event_partitions_are_hourly_and_named_like_awx(owner_conn):
    rows = owner_conn.execute("""
        SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'main_jobevent'::regclass""").fetchall()
    assert len(rows) > 24
    for name, bound in rows:
        match = re.fullmatch(r'main_jobevent_(\d{8})_(\d{2})', name)
        assert match, name
        hour = datetime.strptime(match[1] + match[2], '%Y%m%d%H').replace(tzinfo=UTC)
        assert f"FROM ('{hour:%Y-%m-%d %H}:00:00+00') TO ('{hour + timedelta(hours=1):%Y-%m-%d %H}:00:00+00')" in bound
    strategy = "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'main_jobevent'::regclass"
    assert _one(owner_conn, strategy) == 'r'
    # Every event sits in the partition of its job's creation hour.
    assert (
        _one(
            owner_conn,
            'SELECT count(*) FROM main_jobevent e JOIN main_unifiedjob u ON u.id = e.job_id '
            'WHERE e.job_created <> u.created',
        )
        == 0
    )


@integration
def test_schema_keeps_awx_types_and_indexes(owner_conn):
    types = dict(
        owner_conn.execute(
            "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('main_jobevent', 'main_host', 'main_jobhostsummary', 'main_unifiedjob')"
        ).fetchall()
    )
    assert types['main_jobevent.event_data'] == 'text'  # JSON stored as text, as AWX does
    assert types['main_jobevent.id'] == 'bigint'
    assert types['main_host.variables'] == 'text'
    assert types['main_unifiedjob.installed_collections'] == 'jsonb'
    assert types['main_jobhostsummary.modified'] == 'timestamp with time zone'
    indexed = {
        r[0] for r in owner_conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'main_jobhostsummary'")
    }
    assert not any('(modified' in d for d in indexed)  # AWX has no index on modified either
    assert any('(host_id, id DESC)' in d for d in indexed)
