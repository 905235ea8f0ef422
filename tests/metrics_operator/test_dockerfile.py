"""No container engine here: the Dockerfile is checked for its essentials by parsing it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
DOCKERFILE = Path(__file__).resolve().parents[2] / 'Dockerfile'


def stages() -> list[list[tuple[str, str]]]:
    text = re.sub(r'\\\n', ' ', DOCKERFILE.read_text())
    result: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        instruction, _, args = line.partition(' ')
        if instruction.upper() == 'FROM':
            result.append([])
        result[-1].append((instruction.upper(), args.strip()))
    return result


def test_multi_stage_with_runtime_only_final_stage():
    all_stages = stages()
    assert len(all_stages) >= 2
    final = all_stages[-1]
    assert final[0][0] == 'FROM' and ' AS ' not in final[0][1].upper()
    runs = ' '.join(args for ins, args in final if ins == 'RUN')
    assert not re.search(r'\b(apt-get|apk|dnf|yum|gcc|make|pip install)\b', runs), runs
    assert any(ins == 'COPY' and '--from=build' in args for ins, args in final)


def test_non_root_and_arbitrary_uid():
    final = stages()[-1]
    users = [args for ins, args in final if ins == 'USER']
    assert users and users[-1].split(':')[0].isdigit() and users[-1] != '0'
    runs = ' '.join(args for ins, args in final if ins == 'RUN')
    assert '--gid 0' in runs and 'g=u' in runs  # group 0 can write what the owner can: any UID works
    env = ' '.join(args for ins, args in final if ins == 'ENV')
    assert 'HOME=/tmp' in env and 'PYTHONDONTWRITEBYTECODE=1' in env  # read-only root filesystem


def test_entry_points_for_operator_and_worker():
    final = stages()[-1]
    assert ('CMD', '["metrics-operator"]') in final
    pyproject = (DOCKERFILE.parent / 'pyproject.toml').read_text()
    assert 'metrics-operator = "metrics_operator.main:main"' in pyproject
    assert 'metrics-utility = "metrics_utility.cli:main"' in pyproject


def test_build_command_is_documented():
    assert re.search(r'(podman|docker) build -t \S+ \.', DOCKERFILE.read_text())
