"""Schedules checked field by field (issue #17, class 8): `cron.problem` in the operator, `cron.pattern` in the CRD."""

from __future__ import annotations

import itertools
import re

import pytest

from metrics_operator import cron, spec
from testsupport.crd_rules import cel_failures
from testsupport.operator_samples import collection

pytestmark = pytest.mark.unit
CRD_MESSAGE = f'.spec.gather: {cron.MESSAGE}'
MACROS = ', '.join(cron.MACROS)
RANGE = 'out of range'

# schedule → the operator's exact message (None: accepted), and whether the CRD's rule accepts it.
SCHEDULES = {
    'the issue example': ('61 25 * * *', 'minute 61 is out of range 0-59', False),
    'hour 24': ('0 24 * * *', 'hour 24 is out of range 0-23', False),
    'day 0': ('0 0 0 * *', 'day of month 0 is out of range 1-31', False),
    'day 32': ('0 0 32 * *', 'day of month 32 is out of range 1-31', False),
    'month 13': ('0 0 1 13 *', 'month 13 is out of range 1-12', False),
    'weekday 7 (Kubernetes refuses it)': ('0 0 * * 7', 'day of week 7 is out of range 0-6', False),
    'step 0': ('*/0 * * * *', "minute step '0' must be a number from 1 to 99", False),
    'step 100': ('0-59/100 * * * *', "minute step '100' must be a number from 1 to 99", False),
    'range backwards': ('5-1 * * * *', "minute range '5-1' starts after it ends", False),
    'month names backwards': ('0 0 1 dec-jan *', "month range 'dec-jan' starts after it ends", False),
    'weekday names backwards': ('0 0 1 * FRI-MON', "day of week range 'FRI-MON' starts after it ends", False),
    'empty list item': ('1,,2 * * * *', "minute '' is not a number 0-59", False),
    'negative': ('-1 * * * *', "minute '' is not a number 0-59", False),
    'open range': ('1- * * * *', "minute '' is not a number 0-59", False),
    'Quartz L': ('0 0 L * *', "day of month 'L' is not a number 1-31", False),
    'Quartz W': ('0 0 15W * *', "day of month '15W' is not a number 1-31", False),
    'Quartz #': (
        '0 0 * * 1#2',
        "day of week '1#2' is not a number 0-6 or a name (sun, mon, tue, wed, thu, fri, sat)",
        False,
    ),
    'three digits': ('000 * * * *', "minute '000' is not a number 0-59", False),
    'unicode digit': ('٣ * * * *', "minute '٣' is not a number 0-59", False),
    'four fields': ('* * * *', f'must be {cron.EXPECTED}; got 4 field(s)', False),
    'six fields (seconds)': ('0 * * * * *', f'must be {cron.EXPECTED}; got 6 field(s)', False),
    'a TZ prefix': ('TZ=UTC 0 * * * *', f'must be {cron.EXPECTED}; got 6 field(s)', False),
    'a macro in capitals': ('@HOURLY', f"'@HOURLY' is not a macro; expected one of {MACROS} or @every", False),
    'an unknown macro': ('@reboot', f"'@reboot' is not a macro; expected one of {MACROS} or @every", False),
    '@every without a duration': ('@every', f"'@every' is not a macro; expected one of {MACROS} or @every", False),
    '@every in days (Go has no d)': ('@every 1d', "@every '1d' is not a duration such as 90m, 1h30m or 1.5h", False),
    '@every with two spaces': ('@every  1h', "@every ' 1h' is not a duration such as 90m, 1h30m or 1.5h", False),
    '@every negative': ('@every -1h', "@every '-1h' is not a duration such as 90m, 1h30m or 1.5h", False),
    '@every 30 seconds (too often)': (
        '@every 30s',
        '@every 30s: at least a minute (CronJobs start at most once a minute)',
        True,
    ),
    '@every compound duration': ('@every 1h30m', None, True),
    '@every fractional hours': ('@every 1.5h', None, True),
    'a word': ('monthly', f'must be {cron.EXPECTED}; got 1 field(s)', False),
    'February 30 never comes': ('0 0 30 2 *', 'never runs: no chosen month has day 30', True),
    'day 31 of 30-day months': ('0 0 31 4,6,9,11 *', 'never runs: no chosen month has day 31', True),
    'February 29 comes in leap years': ('0 0 29 2 *', None, True),
    'day 31 with a weekday runs on the weekday': ('0 0 31 2 mon', None, True),
    'names in any case, ? in the day fields': ('0 0 ? JAN-mar mon-FRI', None, True),
    'lists, ranges and steps': ('1,2,5-10/2 */6 1-31/3 */2 0-6', None, True),
    'a leading zero': ('05 04 02 * *', None, True),
    'the default report schedule': ('0 4 2 * *', None, True),
    'padding spaces': ('  0 4 2 * *  ', None, True),
    'the daily macro': ('@daily', None, True),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', SCHEDULES, ids=list(SCHEDULES))
def test_schedule_outcome(crd_schema, case):
    schedule, why, crd_accepts = SCHEDULES[case]
    obj = collection(gather={'schedule': schedule})
    failures = cel_failures(crd_schema, {**obj, 'spec': spec.with_defaults(obj['spec'])})
    assert failures == ([] if crd_accepts else [CRD_MESSAGE])
    if why is None:
        assert spec.validate('controller', obj['spec'])['gather']['schedule'] == schedule
    else:
        with pytest.raises(spec.SpecError) as exc:
            spec.validate('controller', obj['spec'])
        assert (exc.value.field, exc.value.message) == ('spec.gather.schedule', why)


def test_the_crd_rule_is_generated_from_the_operator(crd_schema):
    """After editing metrics_operator/cron.py, paste `cron.cel_rule()` into deploy/crds/ (then render-deploy.py)."""
    spec_props = crd_schema['properties']['spec']['properties']
    for kind in ('gather', 'report', 'vcpu'):
        rules = [r['rule'] for r in spec_props[kind]['x-kubernetes-validations'] if 'schedule' in r['rule']]
        assert rules == [cron.cel_rule()], kind


TOKENS = ['*', '?', '0', '7', '59', '60', '1-5', '5-1', '*/15', '*/0', 'jan', 'MON', 'mon-fri', 'fri-mon', '3,4', '']


def test_the_crd_pattern_and_the_operator_agree_on_every_combination():
    """Each field from a set of tokens: the regular expression accepts exactly what `problem` accepts (apart from
    the month-length check only the operator can make)."""
    regex = re.compile(cron.pattern())
    disagreements = []
    for fields in itertools.product(TOKENS, repeat=3):
        for tail in (('* *'), ('1 ' + fields[0] + ' *'), ('* * ' + fields[1])):
            schedule = ' '.join(fields) + ' ' + tail
            why = cron.problem(schedule)
            operator_accepts = why is None or why.startswith('never runs')
            if bool(regex.match(schedule)) != operator_accepts:
                disagreements.append((schedule, why))
    for every in ('@every 1h', '@every 1m', '@every 59s', '@every 60s', '@every 1h1m1s', '@every 1..5h', '@every h'):
        why = cron.problem(every)
        if bool(regex.match(every)) != (
            why is None or why.endswith('at least a minute (CronJobs start at most once a minute)')
        ):
            disagreements.append((every, why))
    assert disagreements == []
