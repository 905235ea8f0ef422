"""What of a planned window is still to ship once the watermark was re-read under the state's lock."""

from datetime import UTC, datetime

import pytest

from metrics_utility.gather.runner import unclaimed
from metrics_utility.library.slicing import Window

pytestmark = pytest.mark.unit

DAY = Window(datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
NOON = datetime(2024, 2, 29, 12, tzinfo=UTC)

CASES = [
    (None, True, DAY, 'no-watermark-yet'),
    (DAY.since, True, DAY, 'mark-at-the-start'),
    (datetime(2024, 2, 1, tzinfo=UTC), True, DAY, 'mark-before-the-window'),
    (NOON, True, Window(NOON, DAY.until), 'another-gather-shipped-the-first-half'),
    (DAY.until, True, None, 'another-gather-shipped-all-of-it'),
    (datetime(2024, 3, 5, tzinfo=UTC), True, None, 'another-gather-went-further'),
    (DAY.until, False, DAY, 'explicit-window-on-a-readable-target-is-shipped-again'),
    (NOON, False, DAY, 'explicit-window-is-never-cut'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(('mark', 'trim', 'expected'), [pytest.param(m, t, e, id=i) for m, t, e, i in CASES])
def test_unclaimed_part_of_a_window(mark, trim, expected):
    assert unclaimed(DAY, mark, trim) == expected
