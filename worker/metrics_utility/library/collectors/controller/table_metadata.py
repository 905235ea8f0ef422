"""`table_metadata` (v1.4, csv): size and estimated row count of the controller's three big tables.

Window: none — a snapshot of the catalog (filed under the day of the run's `until`, as metrics-utility's
`until_slicing` does). One row per table of `public.main_jobevent`, `public.main_jobhostsummary` and
`public.main_unifiedjob` that exists, ordered by table name.

Columns (as metrics-utility 1.4): schemaname, tablename, total_size_bytes, table_size_bytes, indexes_size_bytes,
estimated_row_count, last_analyze, last_vacuum.

Sizes are exact (`pg_total_relation_size`, `pg_relation_size`, `pg_indexes_size`); the row count is the planner's
estimate (`pg_class.reltuples`, 0 for a table never analyzed, where PostgreSQL stores -1). For the partitioned event
table both are summed over its partitions and `last_analyze` / `last_vacuum` (from `pg_stat_user_tables`) are the
parent's, as metrics-utility does. Only catalog views and size functions are read: the SELECT-only role suffices and
no table is scanned. Shipped for console.redhat.com analytics; no report reads it.
"""

from __future__ import annotations

from pathlib import Path

from .csv_export import CsvRun, csv_collector

TABLES = ('main_jobevent', 'main_unifiedjob', 'main_jobhostsummary')

QUERY = """
WITH wanted AS (
    SELECT c.oid, n.nspname AS schemaname, c.relname AS tablename, c.relkind
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname = ANY(%(tables)s) AND c.relkind IN ('r', 'p')
), measured AS (
    -- a plain table measures itself; a partitioned one is the sum of its partitions (they are plain tables)
    SELECT w.oid, r.oid AS part, r.reltuples
    FROM wanted w
    JOIN pg_class r ON r.oid = w.oid
    WHERE w.relkind = 'r'
    UNION ALL
    SELECT w.oid, p.oid, p.reltuples
    FROM wanted w
    JOIN pg_inherits i ON i.inhparent = w.oid
    JOIN pg_class p ON p.oid = i.inhrelid AND p.relkind = 'r'
    WHERE w.relkind = 'p'
)
SELECT
    w.schemaname,
    w.tablename,
    COALESCE(SUM(pg_total_relation_size(m.part)), 0)::bigint AS total_size_bytes,
    COALESCE(SUM(pg_relation_size(m.part)), 0)::bigint AS table_size_bytes,
    COALESCE(SUM(pg_indexes_size(m.part)), 0)::bigint AS indexes_size_bytes,
    COALESCE(SUM(GREATEST(m.reltuples, 0)), 0)::bigint AS estimated_row_count,
    s.last_analyze,
    s.last_vacuum
FROM wanted w
LEFT JOIN measured m ON m.oid = w.oid
LEFT JOIN pg_stat_user_tables s ON s.relid = w.oid
GROUP BY w.oid, w.schemaname, w.tablename, s.last_analyze, s.last_vacuum
ORDER BY w.tablename
"""


@csv_collector('table_metadata', '1.4', kind='snapshot')
def table_metadata(run: CsvRun) -> list[Path]:
    """Sizes and estimated row counts of the event, job and job host summary tables."""
    return run.copy(QUERY, {'tables': list(TABLES)})
