"""Host identity from inventory host variables: `ansible_host`, `ansible_connection`, `ansible_port`.

`main_host.variables` is free text holding YAML or JSON. Billing identity is the top-level `ansible_host` *as those
formats define it*: quotes removed, comments ignored, nested keys not counted, broken documents giving nothing. No
SQL expression can do that on PostgreSQL 15 without creating functions (there is no `pg_input_is_valid`, and a
regular expression cannot validate JSON or YAML), and metrics-utility's line regex miscounts quoted values and
trailing comments. So the text is parsed here, in Python, the way AWX reads it (`json.loads`, else YAML with
libyaml's safe loader), **once per distinct host** of the collected window (`host_columns` reads the texts and puts
the values into the output).

Parsing never raises (a collector must not stop on one host): a document that does not parse — broken syntax, JSON
nested deeper than Python's recursion limit, an integer beyond Python's int-string limit, a YAML tag the safe loader
refuses — or that is not a mapping yields no values and is marked `unreadable`; so is a document whose
`ansible_host` / `ansible_connection` is a mapping, list, set or binary, or whose `ansible_port` is not a whole number
in 0..2147483647 (that value becomes NULL, the others are kept). The collectors count the rows of such hosts. An
empty document (`''`, `---`, `null`) and a key holding `null` are not unreadable: they hold nothing. A text that cannot
hold the keys (`may_hold_keys`) is not read at all, so it is never counted. NUL characters are dropped and lone
surrogates become `?`, because PostgreSQL text cannot hold them. Scalars are rendered as PostgreSQL's `->>` would
render the JSON value (`true`, `22`, `1.5`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

import yaml

_Loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


class HostVars(NamedTuple):
    """What the collectors export from one host's variables (a tuple: built and compared once per host)."""

    ansible_host: str | None = None
    ansible_connection: str | None = None
    ansible_port: int | None = None
    unreadable: bool = False  # the document, or one of the keys' values, could not be read (see the module doc)


NOTHING = HostVars()
UNREADABLE = HostVars(unreadable=True)

# Every key the collectors read starts with this. YAML and JSON can hold such a key without the text `ansible_` only
# by spelling it with escapes (`\u005f`), which need a backslash; aliases and merge keys copy text that is written
# out elsewhere in the document. So a text with neither `ansible_` nor a backslash cannot hold one.
KEY_PREFIX = 'ansible_'


def may_hold_keys(text: str) -> bool:
    """False when `text` certainly has none of the keys (no `ansible_`, no backslash): such text is not parsed."""
    return KEY_PREFIX in text or '\\' in text


# The common shape of inventory YAML: `key: value` lines (`ansible_host: 10.0.0.5`, `ansible_host: '10.0.0.5'  # nic`),
# optionally after `---`, with blank and comment lines. For exactly that shape the mapping is built directly (libyaml
# costs ~15-20 us a document, most of a collector's host work); anything else, including indentation, flow syntax,
# escapes, multi-line scalars and any character outside printable ASCII, goes to the real parser.
_SIMPLE_LINE = re.compile(
    r'([A-Za-z_][A-Za-z0-9_]*):[ ]+'  # a plain key
    r"(?:([A-Za-z0-9][A-Za-z0-9./-]*)|'((?:[ -&(-~]|'')*)'|\"([ !#-\[\]-~]*)\")"  # plain | 'single' | "double"
    r'(?:[ ]*|[ ]+#[ -~]*)'  # trailing spaces, or a comment after at least one space
)
_BLANK_OR_COMMENT = re.compile(r'[ ]*(?:#[ -~]*)?')
_RESOLVER = yaml.resolver.Resolver()
_STR = 'tag:yaml.org,2002:str'


# YAML 1.1 plain scalars that start with a letter are strings unless they are one of these words; and no number,
# date or time has two dots (so IP addresses are strings). Everything else asks PyYAML's own resolver.
_WORDS = frozenset({
    'yes', 'Yes', 'YES', 'no', 'No', 'NO', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE',
    'on', 'On', 'ON', 'off', 'Off', 'OFF', 'null', 'Null', 'NULL',
})  # fmt: skip


class _LongInt(str):
    """An integer with more digits than Python converts (`sys.get_int_max_str_digits`), kept as its digits: exported
    as text under `ansible_host`, never a port; the rest of the document is still read."""


_MAX_DIGITS = 4300  # Python's default int-string conversion limit


def _int(text: str) -> int | _LongInt:
    return int(text) if len(text) <= _MAX_DIGITS else _LongInt(text)


def _plain_tag(value: str) -> str:
    if value[0].isalpha() or value[0] == '_':
        return _STR if value not in _WORDS else _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))
    if value.count('.') >= 2:
        return _STR
    return _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))


def _simple_yaml(text: str) -> dict[str, Any] | None:
    """The mapping of a document made only of simple `key: scalar` lines, or None when it is anything else."""
    result: dict[str, Any] = {}
    for number, line in enumerate(text.split('\n')):
        if not line:
            continue
        match = _SIMPLE_LINE.fullmatch(line)
        if match is None:
            if (number == 0 and line == '---') or _BLANK_OR_COMMENT.fullmatch(line):
                continue
            return None
        key, plain, single, double = match.groups()
        if key in _WORDS:
            return None  # a key such as `yes` or `null` is not a string in YAML 1.1
        if plain is None:
            result[key] = double if single is None else single.replace("''", "'")  # quoted: always a string
        elif plain.isdigit():
            if plain[0] == '0' and plain != '0':
                return None  # an octal int in YAML 1.1: let libyaml decide
            result[key] = _int(plain)
        elif (plain[0].isalpha() and plain not in _WORDS) or _plain_tag(plain) == _STR:
            result[key] = plain
        else:
            return None  # floats, booleans, dates, hex ints: let libyaml decide
    return result or None


_JSON = json.JSONDecoder(parse_int=_int)  # built once: json.loads with arguments builds a decoder per call


def _document(text: str) -> Any:
    """The value of a YAML or JSON document; raises whatever the parsers raise on a document they cannot read."""
    if text[0] not in '{[' and (simple := _simple_yaml(text)) is not None:
        return simple
    try:
        return _JSON.decode(text)
    except (ValueError, RecursionError):
        return yaml.load(text, Loader=_Loader)  # CSafeLoader: no arbitrary objects


_CONTAINERS = (Mapping, list, tuple, set, frozenset, bytes, bytearray)


def _scalar(value: Any) -> str | None:
    if type(value) is str and value.isascii() and '\x00' not in value:
        return value or None  # the usual case, without the checks below
    if value is None or isinstance(value, _CONTAINERS):
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _text(str(value))


def _text(value: str) -> str | None:
    """PostgreSQL text cannot hold NUL or lone surrogates (JSON can escape both): drop NULs, replace surrogates."""
    value = value.replace('\x00', '')
    if not value.isascii():
        value = value.encode('utf-8', 'replace').decode('utf-8')
    return value or None


def _port(value: Any) -> int | None:
    if isinstance(value, bool | _LongInt):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 2_147_483_647 else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def host_vars(text: str | None) -> HostVars:
    """`HostVars` of one `main_host.variables` text; never raises (`UNREADABLE` when the text cannot be read)."""
    if not text or not may_hold_keys(text):
        return NOTHING
    try:
        return _host_vars(text)
    except Exception:  # RecursionError, int-string limit, MemoryError, …: one host never stops a run
        return UNREADABLE


def _host_vars(text: str) -> HostVars:
    if text.isspace():
        return NOTHING
    data = _document(text)
    if data is None:
        return NOTHING  # an empty document (`---`, `null`, comments only)
    if not isinstance(data, Mapping):
        return UNREADABLE  # a list or scalar: AWX accepts only a mapping of variables
    host, connection, port = data.get('ansible_host'), data.get('ansible_connection'), data.get('ansible_port')
    found = HostVars(_scalar(host), _scalar(connection), _port(port))
    if isinstance(host, _CONTAINERS) or isinstance(connection, _CONTAINERS) or (port is not None and found[2] is None):
        return found._replace(unreadable=True)
    return found
