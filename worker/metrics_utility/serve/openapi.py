"""The OpenAPI 3.1 document of the API: every route, parameter and answer, errors included.

Why a document at all: the dashboard and scripts rely on these shapes, and the tests fuzz the running server against
this very document (schemathesis), so a route that answers something undocumented fails the build.
"""

from __future__ import annotations

from typing import Any

from metrics_utility import __version__
from metrics_utility.library.usage_periods import BY

from .params import MAX_VALUE_CHARS, MODES

DAY = {'type': 'string', 'format': 'date', 'pattern': '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'}
NULLABLE_DAY_TIME = {'type': ['string', 'null'], 'format': 'date-time'}
COUNT = {'type': 'integer', 'minimum': 0}


def _ref(name: str) -> dict[str, str]:
    return {'$ref': f'#/components/schemas/{name}'}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {'description': description, 'content': {'application/json': {'schema': schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {
        400: 'A parameter is not acceptable (the message says which and why)',
        401: 'No valid bearer token (network mode)',
        403: 'The token may not get the collection’s metricscollections/reports (network mode)',
        404: 'No such report',
        501: 'Not available in this build',
        503: 'The access review or the storage cannot answer now',
    }
    return {str(code): _json(_ref('Error'), meaning[code]) for code in codes}


AUTH_ERRORS = (401, 403, 503)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {'name': name, 'in': 'query', 'required': False, 'schema': schema, 'description': description}


def document() -> dict[str, Any]:
    text = {'type': 'string', 'maxLength': MAX_VALUE_CHARS}
    usage_period = {
        'type': 'object',
        'required': ['period', 'since', 'until', 'managedNodes', 'jobRuns', 'taskRuns'],
        'additionalProperties': False,
        'properties': {
            'period': {'type': 'string', 'description': '2026-11-05, 2026-W45, 2026-11, 2026-Q4 or 2026'},
            'since': DAY,
            'until': {**DAY, 'description': 'excluded'},
            'managedNodes': {**COUNT, 'description': 'distinct identities with a reachable result in the period'},
            'jobRuns': COUNT,
            'taskRuns': COUNT,
        },
    }
    schemas = {
        'Error': {
            'type': 'object',
            'required': ['error'],
            'additionalProperties': False,
            'properties': {'error': {'type': 'string'}},
        },
        'Usage': {
            'type': 'object',
            'required': ['by', 'since', 'until', 'organization', 'periods'],
            'additionalProperties': False,
            'properties': {
                'by': {'enum': list(BY)},
                'since': DAY,
                'until': DAY,
                'organization': {'type': ['string', 'null']},
                'periods': {'type': 'array', 'items': usage_period},
            },
        },
        'Report': {
            'type': 'object',
            'required': ['id', 'type', 'since', 'until', 'month', 'name', 'size', 'modified', 'billedQuantity'],
            'additionalProperties': False,
            'properties': {
                'id': {'type': 'string', 'pattern': '^[A-Za-z0-9_-]+$'},
                'type': {'enum': ['CCSP', 'CCSPv2', 'RENEWAL_GUIDANCE']},
                'since': DAY,
                'until': {**DAY, 'description': 'excluded'},
                'month': {'type': ['string', 'null'], 'pattern': '^[0-9]{4}-[0-9]{2}$'},
                'name': {'type': 'string'},
                'size': {'type': ['integer', 'null'], 'minimum': 0},
                'modified': NULLABLE_DAY_TIME,
                'billedQuantity': {'type': ['integer', 'null'], 'minimum': 0},
            },
        },
        'Reports': {
            'type': 'object',
            'required': ['reports'],
            'additionalProperties': False,
            'properties': {'reports': {'type': 'array', 'items': _ref('Report')}},
        },
        'Collection': {
            'type': 'object',
            'required': [
                'since',
                'until',
                'lastGather',
                'lastUpload',
                'collectors',
                'gaps',
                'problems',
                'problemCount',
            ],
            'additionalProperties': False,
            'properties': {
                'since': DAY,
                'until': DAY,
                'lastGather': NULLABLE_DAY_TIME,
                'lastUpload': NULLABLE_DAY_TIME,
                'collectors': {
                    'type': 'array',
                    'items': {
                        'type': 'object',
                        'required': ['name', 'days'],
                        'additionalProperties': False,
                        'properties': {
                            'name': {'type': 'string'},
                            'days': {
                                'type': 'array',
                                'items': {
                                    'type': 'object',
                                    'required': ['day', 'rows', 'packages', 'bytes', 'problems'],
                                    'additionalProperties': False,
                                    'properties': {
                                        'day': DAY,
                                        'rows': {'type': ['integer', 'null'], 'minimum': 0},
                                        'packages': COUNT,
                                        'bytes': COUNT,
                                        'problems': COUNT,
                                    },
                                },
                            },
                        },
                    },
                },
                'gaps': {'type': 'array', 'items': DAY},
                'problems': {
                    'type': 'array',
                    'items': {
                        'type': 'object',
                        'required': ['day', 'collector', 'package', 'message'],
                        'additionalProperties': False,
                        'properties': {k: {'type': 'string'} for k in ('day', 'collector', 'package', 'message')},
                    },
                },
                'problemCount': COUNT,
            },
        },
    }
    range_parameters = [
        _query('since', DAY, 'first day (UTC, included)'),
        _query('until', DAY, 'day after the last (UTC, excluded)'),
    ]
    paths = {
        '/healthz': {
            'get': {
                'summary': 'Liveness (no access check)',
                'responses': {
                    '200': _json(
                        {'type': 'object', 'required': ['status'], 'properties': {'status': {'const': 'ok'}}}, 'Up'
                    )
                },
            }
        },
        '/openapi.json': {
            'get': {
                'summary': 'This document (no access check)',
                'responses': {'200': _json({'type': 'object'}, 'The OpenAPI document')},
            }
        },
        '/api/v1/reports': {
            'get': {
                'summary': 'The reports in the storage, newest period first',
                'responses': {'200': _json(_ref('Reports'), 'The reports'), **_errors(*AUTH_ERRORS)},
            }
        },
        '/api/v1/reports/{id}': {
            'get': {
                'summary': 'Download one report',
                'parameters': [
                    {
                        'name': 'id',
                        'in': 'path',
                        'required': True,
                        'schema': {'type': 'string', 'maxLength': MAX_VALUE_CHARS},
                        'description': 'the id of a listed report, e.g. CCSPv2-2026-11',
                    }
                ],
                'responses': {
                    '200': {
                        'description': 'The workbook (Content-Disposition names the file)',
                        'content': {
                            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': {
                                'schema': {'type': 'string', 'contentEncoding': 'binary'}
                            }
                        },
                    },
                    **_errors(404, *AUTH_ERRORS),
                },
            }
        },
        '/api/v1/usage': {
            'get': {
                'summary': 'Managed nodes, job runs and task runs per period, from the daily rollups',
                'parameters': [
                    _query('by', {'enum': list(BY), 'default': 'month'}, 'period length (weeks start on Monday)'),
                    *range_parameters,
                    _query('organization', text, 'only this organization'),
                    _query('mode', {'enum': list(MODES), 'default': 'raw'}, 'raw: data; plot: a chart (SVG)'),
                ],
                'responses': {
                    '200': {
                        'description': 'The periods (raw), or the chart (plot)',
                        'content': {
                            'application/json': {'schema': _ref('Usage')},
                            'image/svg+xml': {'schema': {'type': 'string'}},
                        },
                    },
                    **_errors(400, 501, *AUTH_ERRORS),
                },
            }
        },
        '/api/v1/collection': {
            'get': {
                'summary': 'What was gathered per collector and day, gaps, problems, last gather and upload',
                'parameters': range_parameters,
                'responses': {'200': _json(_ref('Collection'), 'The collection view'), **_errors(400, *AUTH_ERRORS)},
            }
        },
    }
    return {
        'openapi': '3.1.0',
        'info': {'title': 'metrics-utility serve', 'version': __version__},
        'paths': paths,
        'components': {
            'schemas': schemas,
            'securitySchemes': {'bearer': {'type': 'http', 'scheme': 'bearer'}},
        },
    }
