"""`deploy/operator.yaml` (plain-kubectl install) is the chart rendered with default values, and stays so."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import kubernetes_validate
import pytest
import yaml

from testsupport.helm import Helm
from testsupport.kubectl import extract_kubectl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def render_deploy() -> ModuleType:
    spec = importlib.util.spec_from_file_location('render_deploy', ROOT / 'scripts' / 'render-deploy.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_the_chart(render_deploy: ModuleType, helm: Helm) -> None:
    for path, text in render_deploy.expected(str(helm.binary)).items():
        assert path.read_text() == text, f'{path.relative_to(ROOT)} is stale: run scripts/render-deploy.py'


def test_operator_yaml_is_the_namespaced_operator_without_crd() -> None:
    objects = [o for o in yaml.safe_load_all((ROOT / 'deploy' / 'operator.yaml').read_text()) if o]
    kinds = sorted(o['kind'] for o in objects)
    assert kinds == ['Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', 'ServiceAccount']
    for obj in objects:
        kubernetes_validate.validate(obj, '1.35.0', strict=True)
        assert obj['metadata']['namespace'] == 'aap'


def test_check_mode_passes_on_the_committed_files(helm: Helm) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / 'scripts' / 'render-deploy.py'), '--check'],
        env={'PATH': f'{helm.binary.parent}:/usr/bin:/bin'},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_kustomize_moves_everything_to_another_namespace(tmp_path: Path) -> None:
    """The documented no-Helm path for a namespace other than `aap` (docs/install.md): the real kubectl's kustomize
    rewrites the objects and the RoleBinding's subject alike."""
    kubectl = extract_kubectl(tmp_path / 'bin')
    overlay = tmp_path / 'my-overlay'
    overlay.mkdir()
    (overlay / 'operator.yaml').write_text((ROOT / 'deploy' / 'operator.yaml').read_text())
    (overlay / 'kustomization.yaml').write_text('namespace: my-aap\nresources: [operator.yaml]\n')
    result = subprocess.run([str(kubectl), 'kustomize', str(overlay)], capture_output=True, text=True, check=True)
    objects = [o for o in yaml.safe_load_all(result.stdout) if o]
    assert {o['metadata']['namespace'] for o in objects} == {'my-aap'}
    binding = next(o for o in objects if o['kind'] == 'RoleBinding')
    assert binding['subjects'] == [{'kind': 'ServiceAccount', 'name': 'metrics-utility', 'namespace': 'my-aap'}]
