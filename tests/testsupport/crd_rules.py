"""Offline CRD checks: the structural schema with `jsonschema`, the `x-kubernetes-validations` rules with `cel-python`.

The API server also prunes and defaults; tests apply `metrics_operator.spec.with_defaults` first (a separate test
keeps those defaults equal to the CRD's)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import celpy
import jsonschema


def _strip_k8s(schema: Any) -> Any:
    """The CRD schema as plain JSON Schema (drop `x-kubernetes-*`, keep int-or-string as anyOf)."""
    if isinstance(schema, Mapping):
        return {k: _strip_k8s(v) for k, v in schema.items() if not k.startswith('x-kubernetes-')}
    if isinstance(schema, list):
        return [_strip_k8s(v) for v in schema]
    return schema


def schema_errors(schema: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(_strip_k8s(schema), format_checker=jsonschema.FormatChecker())
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


def cel_failures(schema: Mapping[str, Any], obj: Mapping[str, Any]) -> list[str]:
    """Messages of every CEL rule that does not hold for `obj`."""
    env = celpy.Environment()
    failures = []
    for path, rule, value in _rules(schema, obj, ''):
        program = env.program(env.compile(rule['rule']))
        try:
            result = program.evaluate({'self': celpy.json_to_cel(value)})
        except celpy.CELEvalError as exc:  # the API server reports a rule that errs (e.g. timestamp('2024-02-30'))
            result = exc
        if isinstance(result, Exception) or not bool(result):
            failures.append(f'{path or "<root>"}: {rule.get("message", rule["rule"])}')
    return failures
