"""Collectors that read the automation controller's PostgreSQL database — read-only, streamed, one module each.

| Key | Ver | Format | Window (since included, until excluded) |
|---|---|---|---|
| `config` | 2.0 | json | none (settings allow-list, controller version) |
| `controller_version_service` | 1.4 | csv | none (versions of enabled instances) |
| `credentials_service` | 1.4 | csv | job `finished` (managed credential type names only) |
| `execution_environments` | 1.4 | csv | none (full table) |
| `job_host_summary` | 1.2 | csv | `main_jobhostsummary.modified` |
| `job_host_summary_service` | 1.4 | csv | job `finished` |
| `main_host` | 1.1 | csv | none (snapshot of enabled hosts) |
| `main_host_daily` | 1.1 | csv | host `created` or `modified` |
| `main_hostmetric` | 1.1 | csv | `last_automation` or `last_deleted` |
| `main_indirectmanagednodeaudit` | 1.0 | csv | job `finished` (optional table) |
| `main_jobevent` | 1.0 | csv | summaries' `modified` (events of those job/host pairs) |
| `main_jobevent_service` | 1.4 | csv | job `finished` |
| `table_metadata` | 1.4 | csv | none (catalog sizes of three tables) |
| `unified_jobs` | 1.4 | csv | job `finished` |

Import the collectors from here (`from metrics_utility.library.collectors.controller import job_host_summary`);
the names are the decorated factories, which shadow their modules' names.

Every CSV collector takes `db`, `output_dir` (default: a fresh temporary directory), `max_file_bytes` (default
200 MiB) and, when windowed, `since`/`until`; it returns the list of files written (`[]` when there are no rows).
Shared mechanics: `csv_export` (the signature, session and output every CSV collector shares), `streaming` (COPY
to split files, session settings), `window` (time filter), `hostvars` (host identity parsed once per host), `events`
(one JSON parse per event row), `partitions` (event partition pruning).

Deliberate differences from metrics-utility, collector by collector, are listed in each module's docstring; the
common ones: nothing is ever created in the controller database (a SELECT-only role suffices), host variables are
parsed as real YAML/JSON, an empty window yields no file rather than a header-only file, and output is ordered
deterministically where the original ordered at all. See docs/collectors.md.
"""

from .config import config
from .controller_version_service import controller_version_service
from .credentials_service import credentials_service
from .execution_environments import execution_environments
from .job_host_summary import job_host_summary
from .job_host_summary_service import job_host_summary_service
from .main_host import main_host
from .main_host_daily import main_host_daily
from .main_hostmetric import main_hostmetric
from .main_indirectmanagednodeaudit import main_indirectmanagednodeaudit
from .main_jobevent import main_jobevent
from .main_jobevent_service import main_jobevent_service
from .table_metadata import table_metadata
from .unified_jobs import unified_jobs

__all__ = [
    'config',
    'controller_version_service',
    'credentials_service',
    'execution_environments',
    'job_host_summary',
    'job_host_summary_service',
    'main_host',
    'main_host_daily',
    'main_hostmetric',
    'main_indirectmanagednodeaudit',
    'main_jobevent',
    'main_jobevent_service',
    'table_metadata',
    'unified_jobs',
]
