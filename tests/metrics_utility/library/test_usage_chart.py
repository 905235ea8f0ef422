"""The usage chart (pure): the picture of an `/api/v1/usage` document, deterministic and safe with any name in it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from metrics_utility.library.usage_chart import MAX_X_LABELS, ChartError, nice_ceiling, usage_svg, xml_text

SVG = '{http://www.w3.org/2000/svg}'
EXTERNAL = re.compile(rb'(?:https?:)?//(?!www\.w3\.org/2000/svg")[\w.-]+', re.IGNORECASE)


def usage(periods: int = 3, *, by: str = 'month', organization: str | None = None, **fields: Any) -> dict[str, Any]:
    rows = [
        {'period': f'2026-{i + 1:02d}', 'managedNodes': 10 + i, 'jobRuns': 100 + i, 'taskRuns': 1000 + i}
        for i in range(periods)
    ]
    return {'by': by, 'since': '2026-01-01', 'until': '2027-01-01', 'organization': organization, 'periods': rows}


def parse(svg: bytes) -> ET.Element:
    assert svg.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n")
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def title(root: ET.Element) -> str:
    """The chart's title as one line (pygal wraps a long title at spaces onto several text lines)."""
    return ' '.join(t.text or '' for t in root.iter(f'{SVG}text') if t.get('class') == 'title plot_title')


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f'{SVG}rect') if r.get('class') == 'rect reactive tooltip-trigger']


def x_labels(root: ET.Element) -> list[str]:
    axis = next(g for g in root.iter(f'{SVG}g') if (g.get('class') or '').startswith('axis x'))
    return [t.text or '' for t in axis.iter(f'{SVG}text')]


@pytest.mark.unit
def test_a_year_by_month_draws_three_bars_per_month_with_the_month_labels():
    root = parse(usage_svg(usage(12)))
    assert (root.get('width'), root.get('height'), root.get('viewBox')) == ('960', '360', '0 0 960 360')
    assert title(root) == 'Usage by month'
    assert len(bars(root)) == 36
    assert x_labels(root) == [f'2026-{m:02d}' for m in range(1, 13)]
    legend = [t.text for g in root.iter(f'{SVG}g') if g.get('class') == 'legends' for t in g.iter(f'{SVG}text')]
    assert legend == ['Managed nodes', 'Job runs', 'Task runs']


@pytest.mark.unit
def test_the_same_document_gives_the_same_bytes_with_no_script_comment_or_external_url():
    first, second = usage_svg(usage(5)), usage_svg(usage(5))
    assert first == second
    assert b'<script' not in first
    assert b'<!--' not in first
    assert EXTERNAL.findall(first) == []
    assert b'id=""' not in first


@pytest.mark.unit
def test_no_periods_says_so_instead_of_drawing_empty_axes():
    root = parse(usage_svg(usage(0, by='week')))
    assert title(root) == 'Usage by week'
    assert bars(root) == []
    assert [t.text for t in root.iter(f'{SVG}text') if t.get('class') == 'no_data'] == ['No usage in this period']


HOSTILE_ORGANIZATIONS = [
    ('<script>alert(1)</script>', 'Usage by month — organization <script>alert(1)</script>'),
    ('Smith & Sons', 'Usage by month — organization Smith & Sons'),
    ('"quoted" \'single\'', 'Usage by month — organization "quoted" \'single\''),
    (']]><svg onload=alert(1)>', 'Usage by month — organization ]]><svg onload=alert(1)>'),
    ('a\x00b\x07c\x1bd', 'Usage by month — organization a␀b␇c␛d'),
    ('line\nbreak\ttab\r', 'Usage by month — organization line␊break␉tab␍'),
    ('del\x7f c1\x85 bad\ud800 nonchar\uffff', 'Usage by month — organization del␡ c1� bad� nonchar�'),
    ('=HYPERLINK("http://x.test","y")', 'Usage by month — organization =HYPERLINK("http://x.test","y")'),
    ('+1-2', 'Usage by month — organization +1-2'),
    ('x' * 10_000, 'Usage by month — organization ' + 'x' * 79 + '…'),
    ('', 'Usage by month'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('organization', 'shown'),
    HOSTILE_ORGANIZATIONS,
    ids=[
        'script-tag',
        'ampersand',
        'quotes',
        'cdata-end-and-svg-tag',
        'c0-controls',
        'newline-tab-cr',
        'del-c1-surrogate-nonchar',
        'formula',
        'formula-plus',
        '10k-chars',
        'empty',
    ],
)
def test_an_organization_name_is_shown_as_text_never_as_markup(organization: str, shown: str):
    svg = usage_svg(usage(2, organization=organization))
    root = parse(svg)
    assert title(root) == shown
    assert b'<script' not in svg and b'<svg onload' not in svg
    assert [e.tag for e in root.iter() if e.tag.endswith(('script', 'foreignObject'))] == []


HOSTILE_PERIOD_LABELS = [
    ('<img src=x onerror=f()>', '<img src=x onerror=f()>'),
    ('&amp;', '&amp;'),
    ('\x00\x1f', '␀␟'),
    ('p' * 5000, 'p' * 23 + '…'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('label', 'shown'), HOSTILE_PERIOD_LABELS, ids=['img-tag', 'entity-text', 'controls', '5000-chars']
)
def test_a_period_label_is_shown_as_text(label: str, shown: str):
    document = usage(1)
    document['periods'][0]['period'] = label
    svg = usage_svg(document)
    assert x_labels(parse(svg)) == [shown]
    assert b'<img' not in svg


@pytest.mark.hostile
def test_5000_periods_draw_every_bar_but_at_most_the_label_budget():
    document = usage(0, by='day')
    document['periods'] = [
        {'period': f'p{i:04d}', 'managedNodes': i % 7, 'jobRuns': i % 11, 'taskRuns': i % 13} for i in range(5000)
    ]
    root = parse(usage_svg(document))
    assert len(bars(root)) == 15_000
    labels = x_labels(root)
    assert len(labels) == 5000 // 209 + 1 <= MAX_X_LABELS  # every 209th period (ceil(5000 / 24))
    assert labels[:3] == ['p0000', 'p0209', 'p0418']


BAD_COUNTS = [
    (-1, 'periods[0].jobRuns must be a whole number >= 0, got -1'),
    (1.5, 'periods[0].jobRuns must be a whole number >= 0, got 1.5'),
    ('3', "periods[0].jobRuns must be a whole number >= 0, got '3'"),
    (True, 'periods[0].jobRuns must be a whole number >= 0, got True'),
    (None, 'periods[0].jobRuns must be a whole number >= 0, got None'),
    (
        '<b>\x07' * 50,
        "periods[0].jobRuns must be a whole number >= 0, got '<b>\\x07<b>\\x07<b>\\x07<b>\\x07<b>\\x07<b>…",
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('value', 'message'), BAD_COUNTS, ids=['negative', 'fraction', 'text', 'boolean', 'null', 'long-markup']
)
def test_a_count_that_is_not_a_whole_number_is_refused_by_name(value: object, message: str):
    document = usage(1)
    document['periods'][0]['jobRuns'] = value
    with pytest.raises(ChartError) as caught:
        usage_svg(document)
    assert str(caught.value) == message


@pytest.mark.hostile
@pytest.mark.parametrize('periods', [None, 'x', [1], {'period': 'a'}], ids=['null', 'text', 'list-of-int', 'object'])
def test_periods_that_are_not_a_list_of_objects_are_refused(periods: object):
    with pytest.raises(ChartError, match=r'^periods must be a list of objects$'):
        usage_svg({'by': 'day', 'periods': periods})


@pytest.mark.unit
def test_xml_text_keeps_printable_unicode_and_cuts_at_the_limit():
    assert xml_text('Zürich 東京 🙂') == 'Zürich 東京 🙂'
    assert xml_text('abcdef', 4) == 'abc…'
    assert xml_text('abcd', 4) == 'abcd'
    assert xml_text(42) == '42'


@pytest.mark.unit
@pytest.mark.parametrize(
    ('top', 'ceiling'),
    [
        (0, 1),
        (1, 1),
        (3, 5),
        (6, 10),
        (11, 20),
        (21, 25),
        (26, 50),
        (139, 200),
        (906, 1000),
        (2400, 2500),
        (10**7 + 1, 2 * 10**7),
    ],
)
def test_axes_end_on_a_round_number(top: int, ceiling: int):
    assert nice_ceiling(top) == ceiling
