"""The main_jobevent statement before this release's extraction: the reference the collector's cheaper statement
must reproduce byte for byte (tests) and the baseline its cost is measured against (bench/gather.py)."""

# The statement with its LATERAL extraction as `{extract}` (giving `ed.<key>` text columns); `{window}`,
# `{partitions}` and `{events}` as the collector's export fills them.
PREVIOUS_TEMPLATE = """
WITH job_scope AS (
    SELECT s.id AS main_jobhostsummary_id, s.created AS main_jobhostsummary_created,
           u.created AS job_created, s.job_id, s.host_name
    FROM main_jobhostsummary s JOIN main_unifiedjob u ON u.id = s.job_id
    WHERE {window}
)
SELECT
    js.main_jobhostsummary_id, js.main_jobhostsummary_created, e.id, e.created, e.modified, e.job_created, e.event,
    ed.task_action, ed.resolved_action, ed.resolved_role, ed.duration, e.failed, e.changed, e.playbook, e.play,
    e.task, e.role, e.job_id AS job_remote_id, e.host_id AS host_remote_id, e.host_name
FROM main_jobevent e
JOIN job_scope js ON js.job_id = e.job_id AND js.job_created = e.job_created AND js.host_name = e.host_name
{extract}
WHERE {partitions} AND e.job_id = ANY(%(job_ids)s::integer[]) AND e.event IN ({events})
"""
TEXT_KEYS = 'task_action text, resolved_action text, resolved_role text, duration text'
ESCAPED = "replace(e.event_data, '\\u', '\\u005cu')"
# The previous extraction: one jsonb_to_record per row, the `{...}` test by left()/right().
PREVIOUS_EXTRACTION = (
    "LEFT JOIN LATERAL jsonb_to_record(CASE WHEN left(e.event_data, 1) = '{' AND right(e.event_data, 1) = '}' "
    f'THEN {ESCAPED}::jsonb END) AS ed({TEXT_KEYS}) ON true'
)
