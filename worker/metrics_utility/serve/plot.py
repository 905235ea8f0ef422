"""`mode=plot` of `/api/v1/usage`: the same periods the raw mode answers, drawn as SVG (library/usage_chart.py).

SVG only: pygal draws PNG through cairosvg, a native library this image does not carry; every browser shows SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from metrics_utility.library.usage_chart import usage_svg

CONTENT_TYPE = 'image/svg+xml'


class _Query(Protocol):
    by: str
    organization: str | None


class _Period(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def render(query: _Query, periods: Sequence[_Period]) -> tuple[bytes, str]:
    """The chart of `periods` as (body, content type), titled with the query's granularity and organization."""
    document = {'by': query.by, 'organization': query.organization, 'periods': [p.to_json() for p in periods]}
    return usage_svg(document), CONTENT_TYPE
