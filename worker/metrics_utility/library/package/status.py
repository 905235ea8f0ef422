"""`data_collection_status.csv`: one row per collector run recorded in a package, in metrics-utility's format.

The header and cell formats are exactly metrics-utility's (timestamps are Python's `str(datetime)`, since/until
empty when unknown, elapsed in whole seconds, status `ok` or `failed`), so its report sheet keeps working. Unlike
metrics-utility, a failed CSV collector is listed too (weakness #22).

One column is added after upstream's six: `unreadable_rows`, the rows of that collector run whose stored document
(host variables, event data) could not be read and were exported with NULLs (`collectors.Files`; 0 for collectors
that read no documents). Readers that select columns by name (metrics-utility's report, ours) ignore it; packages
written before it existed are read with `unreadable_rows` empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

STATUS_FILE = 'data_collection_status.csv'
STATUS_VERSION = '1.0'
UPSTREAM_HEADER = ('collection_start_timestamp', 'since', 'until', 'file_name', 'status', 'elapsed')
HEADER = (*UPSTREAM_HEADER, 'unreadable_rows')


@dataclass(frozen=True)
class StatusRow:
    started: datetime
    since: datetime | None
    until: datetime | None
    file_name: str
    ok: bool
    elapsed_seconds: float
    unreadable_rows: int = 0

    def cells(self) -> tuple[str, ...]:
        return (
            str(self.started),
            '' if self.since is None else str(self.since),
            '' if self.until is None else str(self.until),
            self.file_name,
            'ok' if self.ok else 'failed',
            str(int(self.elapsed_seconds)),
            str(self.unreadable_rows),
        )


def status_csv(rows: Iterable[StatusRow]) -> bytes:
    """The file's bytes: header, then the rows (CRLF line ends, as `csv.DictWriter` wrote them upstream)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(row.cells() for row in rows)
    return out.getvalue().encode('utf-8')


def parse_status_csv(data: bytes) -> list[dict[str, str]]:
    """Rows as dicts keyed by `HEADER` (`unreadable_rows` '' in upstream's six-column files); raises ValueError when
    the header is neither."""
    reader = csv.reader(io.StringIO(data.decode('utf-8'), newline=''))
    header = tuple(next(reader, ()))
    if header not in (HEADER, UPSTREAM_HEADER):
        raise ValueError(f'{STATUS_FILE}: header is {",".join(header)!r}, expected {",".join(HEADER)!r}')
    return [dict.fromkeys(HEADER, '') | dict(zip(header, row, strict=True)) for row in reader]
