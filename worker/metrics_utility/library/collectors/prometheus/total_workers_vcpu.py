"""`total_workers_vcpu`: the cluster's vCPU count for one finished UTC hour, read from Prometheus.

Usage-based metering (managed AAP) bills the hourly maximum of `sum(machine_cpu_cores)` (cAdvisor's logical cores
per node, summed over all nodes; no node filtering).

Which hour, exactly
-------------------
The measured hour is [H, H+1h) where H is the start of the previous full UTC hour before `until`
(`instants.last_hour(until)`): `until` 10:07 → 09:00–10:00; `until` 10:00:00 → 09:00–10:00 as well.

The value is `max_over_time(sum(machine_cpu_cores)[1h:5m] @ T)` with T = H+1h − 1 ms. The subquery evaluates
`sum(machine_cpu_cores)` at the 5-minute marks inside (T−1h, T] (Prometheus ≥ 3) or [T−1h, T] (Prometheus 2.x);
both contain exactly the 12 marks H, H+5m, …, H+55m, because T−1h = H−1 ms is not a mark and the next mark after
H+55m is H+1h > T. So the result is identical on both major versions, and:

- at each mark t, every series contributes its latest sample at or before t, no older than the lookback delta
  (5 minutes by default); so the sample stamped exactly H counts for this hour, and the sample stamped exactly
  H+1h does not (it belongs to the next hour's first mark);
- a sample between two marks only counts if it is still the latest one at the next mark: short spikes between
  marks are not seen (the same 5-minute resolution as metrics-utility);
- a node that stopped reporting still counts for up to one lookback delta after its last sample (backfilled data
  and crashed nodes have no staleness marker).

metrics-utility evaluated `[59m59s999ms:5m] @ H`, i.e. the marks H−55m … H: the hour before the one its timeline showed
(docs/vcpu.md; a regression test reproduces it). Here the timeline is a range query of `sum(machine_cpu_cores)` from H
to H+55m at a 5-minute step: the same 12 evaluations, so `total_workers_vcpu == max(timeline cpu_sum)` (rounded up).

No data is an error
-------------------
The design contract lets collectors return an empty result when there is no data; this one deliberately raises
`PrometheusNoDataError` instead. The value is a bill: neither 0 nor the fallback 1 is true, and an absent file
would let an hour vanish without anyone noticing. The error says whether Prometheus has samples after the hour's
marks (`cluster_too_new=True`: a brand-new cluster or monitoring stack, the error stops after the first full hour;
callers may report that case as a warning) or none at all (metric not scraped, retention too short, or a token
whose namespace-scoped view hides the metric).
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from metrics_utility.library.secret import Secret

from ... import instants
from ..base import CollectorParameterError, collector
from .client import (
    PrometheusClient,
    PrometheusError,
    PrometheusResponseError,
    check_token,
    check_url,
    read_token_file,
    safe_url,
)

__all__ = [
    'DEFAULT_PROMETHEUS_URL',
    'KEY',
    'METRIC',
    'PrometheusNoDataError',
    'legacy_payload',
    'max_query',
    'measured_hour',
    'schema',
    'timeline_query',
    'total_workers_vcpu',
]

logger = logging.getLogger(__name__)

KEY = 'total_workers_vcpu'
VERSION = '1.0'
METRIC = 'machine_cpu_cores'
DEFAULT_PROMETHEUS_URL = 'https://prometheus-k8s.openshift-monitoring.svc.cluster.local:9091'
STEP = timedelta(minutes=5)
HOUR = timedelta(hours=1)
FALLBACK_VCPU = 1  # metrics-utility's value when usage-based metering is off; kept for compatibility
LOG_PREFIX = '[METRICS_UTILITY_VCPU]'  # metrics-utility's log prefix, so existing log searches keep working


class PrometheusNoDataError(PrometheusError):
    """Prometheus returned no `machine_cpu_cores` data for the measured hour."""

    def __init__(self, message: str, *, url: str, query: str, hour_start: datetime, cluster_too_new: bool) -> None:
        super().__init__(message, url=url, query=query)
        self.hour_start = hour_start
        self.cluster_too_new = cluster_too_new


def measured_hour(until: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the previous full UTC hour before `until` (see the module docstring)."""
    start = instants.last_hour(until)
    return start, start + HOUR


def _at(instant: datetime) -> str:
    """Unix seconds with exactly three decimals, computed in integer milliseconds (no float rounding)."""
    ms = round(instant.timestamp() * 1000)
    return f'{ms // 1000}.{ms % 1000:03d}'


def max_query(hour_start: datetime) -> str:
    """The PromQL whose single value is the billed maximum for the hour starting at `hour_start`."""
    return f'max_over_time(sum({METRIC})[1h:5m] @ {_at(hour_start + HOUR - timedelta(milliseconds=1))})'


def timeline_query() -> str:
    return f'sum({METRIC})'


def _iso(instant: datetime, *, milliseconds: bool = False) -> str:
    text = instant.astimezone(UTC).isoformat(timespec='milliseconds' if milliseconds else 'seconds')
    return text.replace('+00:00', 'Z')


def _number(raw: object, *, what: str, url: str, query: str) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise PrometheusResponseError(
            f'Prometheus at {url} returned {raw!r} for {what}; expected a finite, non-negative CPU count',
            url=url,
            query=query,
        )
    return value


def _whole(value: float) -> int | float:
    """Keep integral sums as int in JSON; cores are whole numbers, a fraction means an unusual exporter."""
    return int(value) if value.is_integer() else value


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of this collector's payload (version 1.0 plus our additional keys)."""
    text = resources.files(__package__).joinpath('total_workers_vcpu.schema.json').read_text(encoding='utf-8')
    return json.loads(text)


LEGACY_KEYS = ('timestamp', 'cluster_name', 'total_workers_vcpu')


def legacy_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The three keys metrics-utility's schema `total_workers_vcpu-1.0` allows (it sets additionalProperties false).

    For consumers that validate against the original schema; the full payload is a superset of it.
    """
    return {key: payload[key] for key in LEGACY_KEYS}


def _check(params: dict[str, Any]) -> dict[str, Any]:
    """Collector-specific validation, run when the collector is created (before any lock or network)."""
    checked = dict(params)
    name = checked['cluster_name']
    if not isinstance(name, str) or not name.strip():
        raise CollectorParameterError(f'{KEY}: cluster_name must be a non-empty string (METRICS_UTILITY_CLUSTER_NAME)')
    if not isinstance(checked['metering_enabled'], bool):
        raise CollectorParameterError(f'{KEY}: metering_enabled must be True or False')
    _, hour_end = measured_hour(checked['until'])
    if hour_end > instants.now():
        raise CollectorParameterError(f'{KEY}: until={checked["until"].isoformat()} is in the future')
    try:
        url = check_url(checked['prometheus_url'])
    except CollectorParameterError as exc:
        raise CollectorParameterError(f'{KEY}: {exc}') from None
    checked['prometheus_url'] = url
    timeout = checked['timeout']
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        raise CollectorParameterError(f'{KEY}: timeout must be a number of seconds in (0, 600], got {timeout!r}')

    token, token_file = checked['bearer_token'], checked['bearer_token_file']
    if token is not None and token_file is not None:
        raise CollectorParameterError(f'{KEY}: pass bearer_token or bearer_token_file, not both')
    if isinstance(token, str):
        checked['bearer_token'] = token = _prefixed(lambda: check_token(token))
    elif token is not None and not isinstance(token, Secret):
        raise CollectorParameterError(f'{KEY}: bearer_token must be a str or Secret, got {type(token).__name__}')
    if token_file is not None:
        checked['bearer_token_file'] = token_file = Path(token_file)
        if not token_file.is_file():
            raise CollectorParameterError(f'{KEY}: bearer_token_file {str(token_file)!r} is not a readable file')
    if (token is not None or token_file is not None) and url.startswith('http://'):
        raise CollectorParameterError(
            f'{KEY}: refusing to send a bearer token over plain http ({safe_url(url)}); use an https:// URL'
        )
    if checked['ca_bundle'] is not None:
        checked['ca_bundle'] = ca = Path(checked['ca_bundle'])
        if not ca.is_file():
            raise CollectorParameterError(f'{KEY}: ca_bundle {str(ca)!r} is not a file (PEM CA certificates)')
        if url.startswith('http://'):
            raise CollectorParameterError(f'{KEY}: ca_bundle is set but prometheus_url uses plain http')
    return checked


def _prefixed(make: Any) -> Any:
    try:
        return make()
    except CollectorParameterError as exc:
        raise CollectorParameterError(f'{KEY}: {exc}') from None


@collector(KEY, VERSION, 'json', kind='snapshot', check=_check)
def total_workers_vcpu(
    *,
    until: datetime,
    cluster_name: str,
    prometheus_url: str = DEFAULT_PROMETHEUS_URL,
    bearer_token: Secret | None = None,
    bearer_token_file: Path | None = None,
    ca_bundle: Path | None = None,
    timeout: float = 30.0,
    metering_enabled: bool = True,
) -> dict[str, Any]:
    """Maximum cluster vCPU count (sum of machine_cpu_cores) over the previous full UTC hour before `until`.

    Validated when created, queried on `.gather()`.

    Parameters (keyword only):
    - `until` (aware datetime, required): the measured hour is the previous full UTC hour before it;
    - `cluster_name` (str, required): written to the payload;
    - `prometheus_url`: API base URL (default: OpenShift's in-cluster prometheus-k8s);
    - `bearer_token` (str or `Secret`) or `bearer_token_file` (path, read at gather time because service-account
      tokens rotate); never both; refused over plain http;
    - `ca_bundle`: PEM file to verify the server certificate (default: the system trust store);
    - `timeout`: seconds per HTTP request (default 30);
    - `metering_enabled`: False returns the compatibility fallback `total_workers_vcpu = 1` without any query.
    """
    hour_start, hour_end = measured_hour(until)
    payload: dict[str, Any] = {
        'timestamp': _iso(hour_end - timedelta(milliseconds=1), milliseconds=True),
        'cluster_name': cluster_name,
        'total_workers_vcpu': FALLBACK_VCPU,
        'metering_enabled': metering_enabled,
        'hour_start': _iso(hour_start),
        'hour_end': _iso(hour_end),
        'query': None,
        'timeline': [],
    }
    if not metering_enabled:
        logger.info(
            '%s usage-based metering disabled: reporting total_workers_vcpu=%d for %s–%s',
            LOG_PREFIX,
            FALLBACK_VCPU,
            payload['hour_start'],
            payload['hour_end'],
        )
        return payload

    token = read_token_file(bearer_token_file) if bearer_token_file is not None else bearer_token
    client = PrometheusClient(prometheus_url, token=token, ca_bundle=ca_bundle, timeout=timeout)
    shown = safe_url(prometheus_url)
    query = max_query(hour_start)
    payload['query'] = query

    result = client.query(query, time=hour_end.timestamp())
    if not result:
        raise _no_data(client, query, shown, hour_start, hour_end, until)
    if len(result) != 1:
        raise PrometheusResponseError(
            f'Prometheus at {shown} returned {len(result)} series for {query!r}; expected one (sum() has no labels)',
            url=shown,
            query=query,
        )
    maximum = _number(result[0].get('value', [None, None])[1], what='the hourly maximum', url=shown, query=query)
    if not maximum.is_integer():
        logger.warning(
            '%s hourly maximum %s is not a whole number of cores; billing %d', LOG_PREFIX, maximum, math.ceil(maximum)
        )
    payload['total_workers_vcpu'] = math.ceil(maximum)

    payload['timeline'] = _timeline(client, shown, hour_start)
    peak = max((point['cpu_sum'] for point in payload['timeline']), default=None)
    if peak is not None and math.ceil(peak) != payload['total_workers_vcpu']:
        # Both queries evaluate the same 12 marks; a difference means data arrived between them (late remote
        # write, Thanos store catching up). The instant value is kept; the log makes the mismatch visible.
        logger.warning(
            '%s timeline peak %s differs from the hourly maximum %s for %s; data changed between the queries',
            LOG_PREFIX,
            peak,
            payload['total_workers_vcpu'],
            payload['hour_start'],
        )
    logger.info(
        '%s cluster %s hour %s–%s: total_workers_vcpu=%d (query %s at %s)',
        LOG_PREFIX,
        cluster_name,
        payload['hour_start'],
        payload['hour_end'],
        payload['total_workers_vcpu'],
        query,
        shown,
    )
    logger.debug('%s timeline %s', LOG_PREFIX, payload['timeline'])
    return payload


def _timeline(client: PrometheusClient, shown: str, hour_start: datetime) -> list[dict[str, Any]]:
    query = timeline_query()
    last_mark = hour_start + HOUR - STEP
    series = client.query_range(
        query, start=hour_start.timestamp(), end=last_mark.timestamp(), step=STEP.total_seconds()
    )
    points: list[dict[str, Any]] = []
    for item in series:
        for stamp, raw in item.get('values', []):
            value = _number(raw, what='a timeline point', url=shown, query=query)
            points.append({'timestamp': _iso(datetime.fromtimestamp(float(stamp), UTC)), 'cpu_sum': _whole(value)})
    points.sort(key=lambda point: point['timestamp'])
    return points


def _no_data(
    client: PrometheusClient, query: str, shown: str, hour_start: datetime, hour_end: datetime, until: datetime
) -> PrometheusNoDataError:
    """Build the no-data error, asking Prometheus once whether the metric exists between H and `until`."""
    window = max(1, math.ceil((until - hour_start).total_seconds()))
    probe = f'count(present_over_time({METRIC}[{window}s] @ {_at(until)}))'
    try:
        later = bool(client.query(probe, time=until.timestamp()))
    except PrometheusError as exc:
        logger.warning('%s could not check whether %s exists later: %s', LOG_PREFIX, METRIC, exc)
        later = False
    hour = f'{_iso(hour_start)}–{_iso(hour_end)}'
    if later:
        advice = (
            f"{METRIC} has samples after this hour's 5-minute marks, so the cluster or its monitoring probably "
            'started during or after this hour; this stops once a full hour of data exists'
        )
    else:
        advice = (
            f'Prometheus has no {METRIC} samples between {_iso(hour_start)} and {_iso(until)}: check that the '
            'kubelet/cAdvisor metrics are scraped, that retention covers this hour, and that the token may read '
            'cluster-wide metrics'
        )
    return PrometheusNoDataError(
        f'no vCPU data for hour {hour} from Prometheus at {shown} (query {query!r}); {advice}',
        url=shown,
        query=query,
        hour_start=hour_start,
        cluster_too_new=later,
    )
