"""Offline CRD checks: the structural schema with `jsonschema`, the `x-kubernetes-validations` rules with `cel-python`.

The API server also prunes and defaults; tests apply `metrics_operator.spec.with_defaults` first (a separate test
keeps those defaults equal to the CRD's)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import cache, lru_cache
from typing import Any

import celpy
import jsonschema


def _strip_k8s(schema: Any) -> Any:
    """The CRD schema as plain JSON Schema (drop `x-kubernetes-*`, keep int-or-string as anyOf).

    A pattern's final `$` becomes `\\Z`: the API server's RE2 anchors `$` at the end of the text, Python's `re` (which
    jsonschema uses) also just before a final newline."""
    if isinstance(schema, Mapping):
        kept = {k: v for k, v in schema.items() if not k.startswith('x-kubernetes-')}
        return {k: _end_anchor(v) if k == 'pattern' and isinstance(v, str) else _strip_k8s(v) for k, v in kept.items()}
    if isinstance(schema, list):
        return [_strip_k8s(v) for v in schema]
    return schema


_VALIDATORS: dict[int, tuple[Mapping[str, Any], jsonschema.Draft4Validator]] = {}


def _end_anchor(pattern: str) -> str:
    return re.sub(r'(?<!\\)\$$', r'\\Z', pattern)


def schema_errors(schema: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    known = _VALIDATORS.get(id(schema))
    if known is None or known[0] is not schema:  # one validator per schema object (building it is the slow part)
        validator = jsonschema.Draft4Validator(_strip_k8s(schema), format_checker=jsonschema.FormatChecker())
        known = _VALIDATORS[id(schema)] = (schema, validator)
    validator = known[1]
    return ['.'.join(map(str, e.absolute_path)) + ': ' + e.message for e in validator.iter_errors(obj)]


def _rules(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if value is None:
        return
    for rule in schema.get('x-kubernetes-validations', []):
        yield path, rule, value
    if isinstance(value, Mapping):
        for key, sub in (schema.get('properties') or {}).items():
            if key in value:
                yield from _rules(sub, value[key], f'{path}.{key}')
        extra = schema.get('additionalProperties')
        if isinstance(extra, Mapping):
            for key, sub_value in value.items():
                yield from _rules(extra, sub_value, f'{path}.{key}')
    if isinstance(value, list) and isinstance(schema.get('items'), Mapping):
        for index, item in enumerate(value):
            yield from _rules(schema['items'], item, f'{path}[{index}]')


@cache
def _program(rule: str) -> celpy.Runner:
    """Compiled once per rule text: compiling dominates when many resources are checked."""
    env = celpy.Environment()
    return env.program(env.compile(rule))


def cel_failures(schema: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    """Messages of every CEL rule that does not hold for `obj`."""
    failures = []
    for path, rule, value in _rules(schema, obj, ''):
        if not _holds(rule['rule'], json.dumps(_relevant(rule['rule'], value), sort_keys=True)):
            failures.append(f'{path or "<root>"}: {rule.get("message", rule["rule"])}')
    return failures


def _relevant(rule: str, value: Any) -> Any:
    """Only the members of `self` the rule reads (when it reads `self` only through `self.<member>`): the same
    verdict, and results of rules on big objects can be remembered across resources that differ elsewhere."""
    members = re.findall(r'\bself\b(\.[A-Za-z_]\w*)?', rule)
    if not isinstance(value, Mapping) or '' in members:
        return value
    wanted = {member[1:] for member in members}
    return {key: item for key, item in value.items() if key in wanted}


@lru_cache(maxsize=65536)
def _holds(rule: str, value: str) -> bool:
    """One rule on one value (as JSON text), remembered: generated resources share most of their blocks."""
    try:
        document = celpy.json_to_cel(json.loads(value))
    except ValueError:  # an integer beyond int64: the API server refuses the object before any rule
        return False
    try:
        result = _program(rule).evaluate({'self': document})
    except celpy.CELEvalError as exc:  # the API server reports a rule that errs (e.g. timestamp('2024-02-30'))
        result = exc
    return not isinstance(result, Exception) and bool(result)
