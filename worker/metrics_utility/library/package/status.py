"""`data_collection_status.csv`: one row per collector run recorded in a package, in metrics-utility's format.

The header and cell formats are exactly metrics-utility's (timestamps are Python's `str(datetime)`, since/until
empty when unknown, elapsed in whole seconds, status `ok` or `failed`), so its report sheet keeps working. Unlike
metrics-utility, a failed CSV collector is listed too (weakness #22).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

STATUS_FILE = 'data_collection_status.csv'
STATUS_VERSION = '1.0'
HEADER = ('collection_start_timestamp', 'since', 'until', 'file_name', 'status', 'elapsed')


@dataclass(frozen=True)
class StatusRow:
    started: datetime
    since: datetime | None
    until: datetime | None
    file_name: str
    ok: bool
    elapsed_seconds: float

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.started),
            '' if self.since is None else str(self.since),
            '' if self.until is None else str(self.until),
            self.file_name,
            'ok' if self.ok else 'failed',
            str(int(self.elapsed_seconds)),
        )


def status_csv(rows: Iterable[StatusRow]) -> bytes:
    """The file's bytes: header, then the rows (CRLF line ends, as `csv.DictWriter` wrote them upstream)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue().encode('utf-8')


def parse_status_csv(data: bytes) -> list[dict[str, str]]:
    """Rows as dicts keyed by the header; raises ValueError when the header is not metrics-utility's."""
    reader = csv.reader(io.StringIO(data.decode('utf-8'), newline=''))
    header = tuple(next(reader, ()))
    if header != HEADER:
        raise ValueError(f'{STATUS_FILE}: header is {",".join(header)!r}, expected {",".join(HEADER)!r}')
    return [dict(zip(HEADER, row, strict=True)) for row in reader]
