"""The usage trend as an SVG chart, rendered on the server so the dashboard needs no JavaScript chart library and no
network: managed nodes per period as bars (left axis), job runs and task runs as bars on a second axis (right).

The input is the `/api/v1/usage` document (`by`, `organization`, `periods`); the output is deterministic bytes (no
random ids, no date stamp, no script, no external URL), so the API's plot mode and the page show the same picture
and a test can compare it. Organization names reach the title and are customer data: every text is made XML-safe
(control characters shown as their Unicode control pictures, long texts cut), and the serializer escapes markup.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from pygal.style import Style

PERIOD_NAMES = {'day': 'day', 'week': 'week', 'month': 'month', 'quarter': 'quarter', 'year': 'year'}
SERIES = (('managedNodes', 'Managed nodes'), ('jobRuns', 'Job runs'), ('taskRuns', 'Task runs'))
MAX_TEXT = 80  # characters of a title or label shown before it is cut with an ellipsis
MAX_X_LABELS = 24  # x labels drawn at most; with more periods every n-th is shown
WIDTH, HEIGHT = 960, 360

_STYLE = Style(
    background='#ffffff',
    plot_background='#ffffff',
    foreground='#2b2f36',
    foreground_strong='#1a1d21',
    foreground_subtle='#d6dae0',
    opacity='.9',
    opacity_hover='1',
    colors=('#0066cc', '#5ba352', '#f0ab00'),
    font_family='"Red Hat Text", "Helvetica Neue", Arial, sans-serif',
    title_font_size=15,
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    value_font_size=11,
    guide_stroke_color='#e4e7eb',
    major_guide_stroke_color='#c9ced6',
    guide_stroke_dasharray='0',
    major_guide_stroke_dasharray='0',
    transition='0ms',
)


class ChartError(ValueError):
    """The usage document cannot be drawn (a missing field or a count that is not a whole number >= 0)."""


def xml_text(value: object, limit: int = MAX_TEXT) -> str:
    """`value` as text an XML document can carry: characters XML 1.0 forbids (and tabs/newlines, which would break
    a one-line label) become their visible control pictures (U+2400 + code, U+2421 for DEL, U+FFFD otherwise), and a
    text longer than `limit` is cut with an ellipsis. Markup characters stay as they are: the serializer escapes."""
    out: list[str] = []
    for char in str(value):
        code = ord(char)
        if code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append('\u2421')
        elif 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append('\ufffd')
        else:
            out.append(char)
    text = ''.join(out)
    return text if len(text) <= limit else text[: limit - 1] + '…'


def _count(period: Mapping[str, Any], key: str, index: int) -> int:
    value = period.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ChartError(f'periods[{index}].{key} must be a whole number >= 0, got {xml_text(repr(value), 40)}')
    return value


def nice_ceiling(top: int) -> int:
    """The smallest of 1, 2, 2.5, 5 times a power of ten (whole) that is >= `top`: an axis that ends there gets
    round ticks (0, 250, 500, … rather than 0, 139, 278, …)."""
    magnitude = 1
    while True:
        for step in (1, 2, 2.5, 5):
            candidate = step * magnitude
            if candidate >= top and candidate == int(candidate):
                return int(candidate)
        magnitude *= 10


def _whole(value: float) -> str:
    """Axis labels as whole numbers with thousands separators (counts have no fractions)."""
    return f'{value:,.0f}'


def _title(usage: Mapping[str, Any]) -> str:
    by = PERIOD_NAMES.get(str(usage.get('by')), 'period')
    organization = usage.get('organization')
    title = f'Usage by {by}'
    if organization:
        title += f' — organization {xml_text(organization, MAX_TEXT)}'
    return title


def _periods(usage: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    periods = usage.get('periods')
    if not isinstance(periods, list) or not all(isinstance(p, Mapping) for p in periods):
        raise ChartError('periods must be a list of objects')
    return periods


def _chart(usage: Mapping[str, Any]) -> pygal.Bar:
    periods = _periods(usage)
    counts = {key: [_count(p, key, i) for i, p in enumerate(periods)] for key, _ in SERIES}
    runs_top = nice_ceiling(max([*counts['jobRuns'], *counts['taskRuns'], 1]))
    labels = [xml_text(p.get('period', ''), 24) for p in periods]
    every = max(1, -(-len(labels) // MAX_X_LABELS))
    chart = pygal.Bar(
        style=_STYLE,
        width=WIDTH,
        height=HEIGHT,
        title=_title(usage),
        x_labels=labels,
        x_labels_major_every=every,
        show_minor_x_labels=every == 1,
        x_label_rotation=-30 if len(labels) > 12 else 0,
        truncate_label=-1,
        truncate_legend=-1,
        legend_at_bottom=True,
        legend_at_bottom_columns=3,
        y_title='Managed nodes',
        range=(0, nice_ceiling(max([*counts['managedNodes'], 1]))),
        secondary_range=(0, runs_top),
        value_formatter=_whole,
        min_scale=1,
        print_zeroes=False,
        no_data_text='No usage in this period',
        no_prefix=True,  # no random chart id: the output is deterministic
        js=[],  # no tooltip script from a CDN (the page loads the chart as an image anyway)
        disable_xml_declaration=True,
        show_y_guides=True,
        margin=12,
        spacing=12,
        rounded_bars=1,
    )
    if periods:
        for key, name in SERIES:
            chart.add(name, counts[key], secondary=key != 'managedNodes')
    return chart


def _finish(root: ET.Element) -> None:
    """Drop what pygal adds that changes from run to run or that an image does not need: the comments (one carries
    today's date), the empty id of the root and the configuration script; give the image its size (an SVG with only a
    viewBox is 300 pixels wide to a browser that loads it as an image)."""
    if not root.get('id'):
        root.attrib.pop('id', None)
    root.set('width', str(WIDTH))
    root.set('height', str(HEIGHT))
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag is ET.Comment or child.tag in ('script', f'{{{pygal.svg.Svg.ns}}}script'):
                parent.remove(child)


def usage_svg(usage: Mapping[str, Any]) -> bytes:
    """The `/api/v1/usage` document drawn as an SVG image (UTF-8 bytes with an XML declaration)."""
    root = _chart(usage).render_tree()
    _finish(root)
    return b"<?xml version='1.0' encoding='utf-8'?>\n" + ET.tostring(root, encoding='utf-8', xml_declaration=False)
