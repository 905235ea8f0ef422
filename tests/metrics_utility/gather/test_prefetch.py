"""Prefetch: the next window's collection runs while this one is packaged, one collection at a time and in order; a
collection that is not taken as planned is waited for and its files removed; a collector's exception reaches the
thread that packages it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from metrics_utility.gather.prefetch import Prefetch
from metrics_utility.library.collectors import Collector, registry
from testsupport.waiting import wait_until

pytestmark = pytest.mark.unit

DAY = timedelta(days=1)
START = datetime(2024, 3, 4, tzinfo=UTC)
INFO = registry.COLLECTORS['job_host_summary'].info


class Recorder:
    """Collectors writing one file each; remembers the order in which collections began and ended."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.events, self.lock = folder, [], threading.Lock()
        self.release: dict[str, threading.Event] = {}

    def collector(self, name: str, fail: str | None = None, hold: bool = False) -> Collector:
        if hold:
            self.release[name] = threading.Event()

        def gather() -> list[Path]:
            with self.lock:
                self.events.append(f'start {name}')
            if name in self.release:
                assert self.release[name].wait(30), f'{name} was never released'
            with self.lock:
                self.events.append(f'end {name}')
            if fail:
                raise RuntimeError(fail)
            path = self.folder / f'{name}.csv'
            path.write_text('id\n1\n')
            return [path]

        return Collector(INFO, gather, {})

    def builder(self, name: str, **kwargs):
        return lambda: self.collector(name, **kwargs)


def window(day: int) -> tuple[datetime, datetime]:
    return START + day * DAY, START + (day + 1) * DAY


def test_the_next_window_is_collected_while_this_one_is_handed_over(tmp_path):
    """`ahead` starts day 1 after day 0 ended (never both at once) without anyone waiting for it; `take` then
    hands each window's own files over."""
    record = Recorder(tmp_path)
    with Prefetch() as prefetch:
        first = prefetch.take('job_host_summary', *window(0), record.builder('day0', hold=True))
        prefetch.ahead('job_host_summary', *window(1), record.builder('day1'))
        record.release['day0'].set()
        assert first.gather() == [tmp_path / 'day0.csv']
        wait_until(lambda: 'end day1' in record.events, 10, 'day 1 collected ahead')
        second = prefetch.take('job_host_summary', *window(1), record.builder('never built'))
        before = datetime.now(UTC)
        assert second.gather() == [tmp_path / 'day1.csv']
        started, elapsed = second.func.ran  # Package records when the collection ran, not when it was handed over
        assert started <= before and elapsed >= 0
        assert second.key == 'job_host_summary' and second.version == INFO.version
    assert record.events == ['start day0', 'end day0', 'start day1', 'end day1']


def _collector_raises(prefetch: Prefetch, record: Recorder) -> object:
    taken = prefetch.take('job_host_summary', *window(0), record.builder('day0', fail='relation "x" does not exist'))
    with pytest.raises(RuntimeError) as caught:
        taken.gather()
    return str(caught.value)


def _another_window_is_taken(prefetch: Prefetch, record: Recorder) -> object:
    prefetch.ahead('job_host_summary', *window(1), record.builder('day1'))
    taken = prefetch.take('job_host_summary', window(1)[0] + timedelta(hours=6), window(1)[1], record.builder('trim'))
    return taken.gather(), record.events


def _another_collector_is_taken(prefetch: Prefetch, record: Recorder) -> object:
    prefetch.ahead('job_host_summary', *window(1), record.builder('day1'))
    taken = prefetch.take('main_jobevent', *window(0), record.builder('events'))
    return taken.gather(), record.events


def _build_fails_ahead(prefetch: Prefetch, record: Recorder) -> object:
    def broken() -> Collector:
        raise ValueError('since must be before until')

    prefetch.ahead('job_host_summary', *window(1), broken)
    with pytest.raises(ValueError) as caught:
        prefetch.take('job_host_summary', *window(1), broken)
    return str(caught.value), record.events


def _closed_before_taken(prefetch: Prefetch, record: Recorder) -> object:
    prefetch.ahead('job_host_summary', *window(1), record.builder('day1'))
    prefetch.close()
    return record.events


CASES = [
    ('collector-raises', _collector_raises, 'relation "x" does not exist', []),
    (
        'another-gather-shipped-part-of-the-window',
        _another_window_is_taken,
        ([Path('trim.csv')], ['start day1', 'end day1', 'start trim', 'end trim']),
        [],
    ),
    (
        'the-collector-failed-before-its-next-window',
        _another_collector_is_taken,
        ([Path('events.csv')], ['start day1', 'end day1', 'start events', 'end events']),
        [],
    ),
    ('collector-cannot-be-built', _build_fails_ahead, ('since must be before until', []), []),
    ('run-ends-before-the-window-is-taken', _closed_before_taken, ['start day1', 'end day1'], []),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('scenario', 'expected', 'left'), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_what_is_not_taken_as_planned_is_discarded(tmp_path, scenario, expected, left):
    """Exact outcome per case; the files of collections never handed over are removed (only handed-over ones stay,
    and those belong to the packager)."""
    record = Recorder(tmp_path)
    with Prefetch() as prefetch:
        outcome = scenario(prefetch, record)
    if isinstance(outcome, tuple) and isinstance(outcome[0], list):
        outcome = ([path.relative_to(tmp_path) for path in outcome[0]], outcome[1])
        for path in outcome[0]:
            (tmp_path / path).unlink()  # the packager's: taken
    assert outcome == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == left
