"""The rules that make the image acceptable on OpenShift, checked on the Dockerfile text (no container engine here).

hadolint covers general Dockerfile practice; these are ours: a UBI 9 base in every FROM with a pinned tag, one Python
>= 3.11 in every stage, a numeric non-root USER with group 0, group-0 permissions on what the image creates, OCI
labels, no remote ADD, no secrets in ENV/ARG, no package caches, a runtime-only final stage whose HOME and TMPDIR are
the scratch volume the pods mount. `findings(text)` returns `line N: message`, in line order; [] means acceptable.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

UBI_REGISTRIES = ('registry.access.redhat.com', 'registry.redhat.io')
PYTHON_FLOOR = (3, 11)
# RHEL 9's unversioned `python3` package is Python 3.9 for the whole life of RHEL 9.
RHEL9_DEFAULT_PYTHON = (3, 9)
SCRATCH = '/tmp'
REQUIRED_LABELS = tuple(
    f'org.opencontainers.image.{key}'
    for key in ('title', 'description', 'licenses', 'source', 'version', 'vendor', 'revision')
)
BUILD_TOOLS = re.compile(r'^(gcc|gcc-c\+\+|make|cmake|git|.*-devel|python3(\.\d+)?-pip)$')
SECRET_NAME = re.compile(r'(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIALS?|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)(_|$)')
URL_WITH_PASSWORD = re.compile(r'://[^/@\s:]+:[^/@\s]+@')
PACKAGE_MANAGERS = ('microdnf', 'dnf', 'yum')
TRUE_WORDS = ('1', 'true', 'yes', 'on')


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    line: int
    image: str
    alias: str | None
    parent: Stage | None  # the earlier stage this one is built FROM, if any
    instructions: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> Iterator[Instruction]:
    """Logical instructions: continuation lines joined, comment lines dropped (also inside a continuation)."""
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith('#') or not stripped:  # blank lines inside a continuation are skipped too
            continue
        if not parts:
            start = number
        if stripped.endswith('\\'):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        keyword, _, args = ' '.join(p for p in parts if p).partition(' ')
        parts = []
        yield Instruction(start, keyword.upper(), args.strip())
    if parts:
        keyword, _, args = ' '.join(p for p in parts if p).partition(' ')
        yield Instruction(start, keyword.upper(), args.strip())


def parse(text: str) -> tuple[list[Instruction], list[Stage]]:
    """(the instructions before the first FROM, the stages in order)."""
    preamble: list[Instruction] = []
    global_args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == 'FROM':
            words = [w for w in ins.args.split() if not w.startswith('--')]
            image = substitute(words[0], global_args) if words else ''
            alias = words[2] if len(words) == 3 and words[1].upper() == 'AS' else None
            parent = next((s for s in stages if s.alias is not None and s.alias == image), None)
            stages.append(Stage(ins.line, image, alias, parent))
        elif not stages:
            preamble.append(ins)
            if ins.keyword == 'ARG':
                global_args.update(arg_declarations(ins.args))
        else:
            stages[-1].instructions.append(ins)
    return preamble, stages


def substitute(value: str, args: Mapping[str, str | None]) -> str:
    return re.sub(r'\$\{(\w+)\}|\$(\w+)', lambda m: args.get(m.group(1) or m.group(2)) or m.group(0), value)


def words(args: str) -> list[str]:
    """Shell-like words; text with an unclosed quote falls back to whitespace (`quote_findings` reports it)."""
    try:
        return shlex.split(args)
    except ValueError:
        return args.split()


def arg_declarations(args: str) -> dict[str, str | None]:
    declared: dict[str, str | None] = {}
    for word in words(args):
        name, eq, default = word.partition('=')
        declared[name] = default if eq else None
    return declared


def env_pairs(args: str) -> list[tuple[str, str]]:
    """ENV/LABEL `k=v k2="v 2"` pairs; the legacy `ENV k v` form is one pair."""
    found = words(args)
    if found and '=' not in found[0]:
        return [(found[0], ' '.join(found[1:]))]
    return [(w.partition('=')[0], w.partition('=')[2]) for w in found]


def commands(run_args: str) -> list[list[str]]:
    """A RUN's simple commands: the exec form (JSON) is one; the shell form is split at `&&`, `||`, `;` and `|`.
    Leading RUN flags (`--mount=...`, `--network=...`) are not part of any command."""
    run_args = re.sub(r'^(--\S+\s+)*', '', run_args)
    if run_args.startswith('['):
        try:
            exec_form = json.loads(run_args)
        except ValueError:
            exec_form = None
        if isinstance(exec_form, list):
            return [[str(word) for word in exec_form]] if exec_form else []
    lexer = shlex.shlex(run_args, posix=True, punctuation_chars=';&|')
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unclosed quote: `quote_findings` reports it
        tokens = run_args.split()
    result: list[list[str]] = [[]]
    for token in tokens:
        if token in ('&&', '||', ';', '|', '&', ';;'):
            result.append([])
        else:
            result[-1].append(token)
    return [c for c in result if c]


def image_parts(ref: str) -> tuple[str, str, str | None, str | None]:
    """(registry, path, tag, digest) of an image reference."""
    name, _, digest = ref.partition('@')
    slash = name.rfind('/')
    tag = None
    if name.rfind(':') > slash:
        name, tag = name.rsplit(':', 1)
    registry, _, path = name.partition('/')
    if '.' not in registry and ':' not in registry and registry != 'localhost':
        registry, path = 'docker.io', name
    return registry, path, tag, digest or None


def installed_packages(cmd: Sequence[str]) -> list[str]:
    """Packages a `microdnf|dnf|yum install` command names (options dropped); [] for any other command."""
    if not cmd or cmd[0].rsplit('/', 1)[-1] not in PACKAGE_MANAGERS:
        return []
    words = [w for w in cmd[1:] if not w.startswith('-')]
    return words[1:] if words and words[0] == 'install' else []


def python_version(package: str) -> tuple[int, int] | None:
    if package == 'python3':
        return RHEL9_DEFAULT_PYTHON
    match = re.fullmatch(r'python3\.?(\d+)', package)
    return (3, int(match.group(1))) if match else None


def is_pip_install(cmd: Sequence[str]) -> bool:
    words = [w for w in cmd if not w.startswith('-')]
    tool = words[0].rsplit('/', 1)[-1] if words else ''
    if re.fullmatch(r'pip(3(\.\d+)?)?', tool):
        return words[1:2] == ['install']
    return bool(re.fullmatch(r'python(3(\.\d+)?)?', tool)) and words[1:3] == ['pip', 'install']


def stage_pythons(stage: Stage, inherited: bool = True) -> list[tuple[int, tuple[int, int], str]]:
    """(line, version, what) for each Python the stage gets: its base image's, an installed package's and (if
    `inherited`) those of the earlier stage it is built FROM."""
    found: list[tuple[int, tuple[int, int], str]] = []
    if stage.parent is not None:
        found += stage_pythons(stage.parent) if inherited else []
    else:
        match = re.search(r'/python-3(\d+)(-minimal)?$', image_parts(stage.image)[1])
        if match:
            found.append((stage.line, (3, int(match.group(1))), stage.image))
    for ins in stage.instructions:
        if ins.keyword == 'RUN':
            for cmd in commands(ins.args):
                for package in installed_packages(cmd):
                    version = python_version(package)
                    if version is not None:
                        found.append((ins.line, version, package))
    return found


def _version(version: tuple[int, int]) -> str:
    return '.'.join(map(str, version))


def base_findings(stage: Stage) -> Iterator[tuple[int, str]]:
    if stage.parent is not None:
        return
    registry, path, tag, digest = image_parts(stage.image)
    if registry not in UBI_REGISTRIES or not path.startswith('ubi9/'):
        yield stage.line, f'FROM {stage.image} is not a Red Hat UBI 9 image (registry.access.redhat.com/ubi9/...)'
    if '$' in stage.image:
        yield stage.line, f'FROM {stage.image} uses an ARG without a default'
    elif tag == 'latest':
        yield stage.line, f'FROM {stage.image} uses the tag latest: pin a release such as :9.8'
    elif tag is None and digest is None:
        yield stage.line, f'FROM {stage.image} has no tag: pin a release such as :9.8'


def python_findings(stages: Sequence[Stage]) -> Iterator[tuple[int, str]]:
    final = stages[-1]
    final_versions = {version for _, version, _ in stage_pythons(final)}
    if not final_versions:
        yield final.line, 'the final stage has no Python (a ubi9/python-3NN base or a python3.NN package)'
    for stage in stages:
        own = stage_pythons(stage, inherited=False)
        for line, version, what in own:
            if version < PYTHON_FLOOR:
                yield line, f'{what} is Python {_version(version)}, older than {_version(PYTHON_FLOOR)}'
        if stage is not final and final_versions:
            for line, version, what in own:
                if version not in final_versions:
                    yield (
                        line,
                        f'{what} is Python {_version(version)} but the final stage has '
                        f'{", ".join(sorted(map(_version, final_versions)))}: a venv needs the same interpreter',
                    )


def user_findings(final: Stage) -> Iterator[tuple[int, str]]:
    users = [ins for ins in final.instructions if ins.keyword == 'USER']
    if not users:
        yield final.line, 'the final stage sets no USER, so the image runs as root'
        return
    last = users[-1]
    user, _, group = last.args.partition(':')
    if not user.isdigit():
        yield last.line, f'USER {last.args} is not numeric: runAsNonRoot can only verify a numeric UID'
    elif int(user) == 0:
        yield last.line, f'USER {last.args} is root'
    if group and group not in ('0', 'root'):
        yield last.line, f"USER {last.args} sets group {group}: OpenShift's arbitrary UIDs share only group 0"


def permission_findings(final: Stage) -> Iterator[tuple[int, str]]:
    created: list[tuple[int, str]] = []
    group_zero: set[str] = set()
    group_writable: set[str] = set()
    for ins in final.instructions:
        if ins.keyword in ('COPY', 'ADD'):
            chown = re.search(r'--chown=(\S+)', ins.args)
            if chown and chown.group(1).partition(':')[2] not in ('0', 'root'):
                yield ins.line, f'{ins.keyword} --chown={chown.group(1)} gives the files a group other than 0'
        if ins.keyword != 'RUN':
            continue
        for cmd in commands(ins.args):
            recursive = any(w in ('-R', '--recursive') for w in cmd)
            operands = [w for w in cmd[1:] if not w.startswith('-')]
            paths = [path.rstrip('/') or '/' for path in operands[1:]]
            if cmd[0] == 'mkdir':
                created += [(ins.line, path.rstrip('/') or '/') for path in operands]
            elif cmd[0] == 'chgrp' and recursive and operands[:1] in (['0'], ['root']):
                group_zero.update(paths)
            elif cmd[0] == 'chmod' and recursive and operands and re.fullmatch(r'u?g(=u|\+rw[xX]?)', operands[0]):
                group_writable.update(paths)
    for line, path in created:
        if path not in group_zero:
            yield line, f'{path} is created but not given to group 0 (chgrp -R 0)'
        if path not in group_writable:
            yield line, f'{path} is created but not writable by group 0 like its owner (chmod -R g=u)'


def label_findings(final: Stage) -> Iterator[tuple[int, str]]:
    args: dict[str, str | None] = {}
    labels: dict[str, tuple[int, str]] = {}
    for ins in final.instructions:
        if ins.keyword == 'ARG':
            args.update(arg_declarations(ins.args))
        elif ins.keyword == 'LABEL':
            for key, value in env_pairs(ins.args):
                labels[key] = (ins.line, value)
                for name in re.findall(r'\$\{(\w+)\}|\$(\w+)', value):
                    name = name[0] or name[1]
                    if name not in args:
                        yield ins.line, f'label {key} uses ${name} but this stage declares no ARG {name}: it is empty'
                    elif args[name] is None:
                        yield ins.line, f'label {key} uses ARG {name}, which has no default: empty without --build-arg'
    for key in REQUIRED_LABELS:
        if key not in labels:
            yield final.line, f'the final stage has no label {key}'
        elif not labels[key][1].strip():
            yield labels[key][0], f'label {key} is empty'


def add_findings(stage: Stage) -> Iterator[tuple[int, str]]:
    for ins in stage.instructions:
        if ins.keyword == 'ADD':
            for source in [w for w in words(ins.args) if not w.startswith('--')][:-1]:
                if '://' in source or source.startswith('git@'):
                    yield ins.line, f'ADD fetches {source}: nothing verifies it (COPY from the context instead)'


def secret_findings(instructions: Sequence[Instruction]) -> Iterator[tuple[int, str]]:
    for ins in instructions:
        if ins.keyword == 'ARG':
            pairs = [(name, default or '') for name, default in arg_declarations(ins.args).items()]
        elif ins.keyword == 'ENV':
            pairs = env_pairs(ins.args)
        else:
            continue
        for name, value in pairs:
            if SECRET_NAME.search(name.upper()):
                yield ins.line, f'{ins.keyword} {name} looks like a secret: it stays in the image history'
            elif URL_WITH_PASSWORD.search(value):
                yield ins.line, f'{ins.keyword} {name} holds a URL with a password: it stays in the image history'


def cache_findings(stage: Stage) -> Iterator[tuple[int, str]]:
    no_pip_cache = False
    for ins in stage.instructions:
        if ins.keyword == 'ENV':
            for name, value in env_pairs(ins.args):
                if name == 'PIP_NO_CACHE_DIR':
                    no_pip_cache = value.lower() in TRUE_WORDS
        if ins.keyword != 'RUN':
            continue
        cmds = commands(ins.args)
        for cmd in cmds:
            if is_pip_install(cmd) and '--no-cache-dir' not in cmd and not no_pip_cache:
                yield ins.line, 'pip install keeps its cache in the layer (--no-cache-dir or ENV PIP_NO_CACHE_DIR=1)'
            tool = cmd[0].rsplit('/', 1)[-1]
            if installed_packages(cmd) and not any(
                c[0].rsplit('/', 1)[-1] == tool and [w for w in c[1:] if not w.startswith('-')] == ['clean', 'all']
                for c in cmds
            ):
                yield ins.line, f'{tool} install leaves its cache in the layer (end the RUN with {tool} clean all)'


def runtime_findings(final: Stage) -> Iterator[tuple[int, str]]:
    env: dict[str, str] = {}
    for ins in final.instructions:
        if ins.keyword == 'ENV':
            env.update(env_pairs(ins.args))
        if ins.keyword != 'RUN':
            continue
        for cmd in commands(ins.args):
            if is_pip_install(cmd):
                yield ins.line, 'the final stage runs pip install: build the venv in the build stage'
            for package in installed_packages(cmd):
                if BUILD_TOOLS.match(package):
                    yield ins.line, f'the final stage installs the build tool {package}'
    for name in ('HOME', 'TMPDIR'):
        if env.get(name) != SCRATCH:
            yield final.line, f'the final stage must set {name}={SCRATCH}, the scratch volume the pods mount'
    if env.get('PYTHONDONTWRITEBYTECODE') != '1':
        yield final.line, 'the final stage must set PYTHONDONTWRITEBYTECODE=1 (no .pyc writes on a read-only root)'


def heredoc_findings(stage: Stage) -> Iterator[tuple[int, str]]:
    for ins in stage.instructions:
        if ins.keyword in ('RUN', 'COPY') and re.search(r'(?<!<)<<-?[\'"]?[A-Za-z_]\w*', ins.args):
            yield ins.line, f'{ins.keyword} with a heredoc is not checked here: write it as plain commands'


def quote_findings(instructions: Sequence[Instruction]) -> Iterator[tuple[int, str]]:
    for ins in instructions:
        if ins.keyword in ('RUN', 'ENV', 'ARG', 'LABEL', 'ADD', 'COPY') and not ins.args.startswith('['):
            try:
                shlex.split(ins.args)
            except ValueError:
                yield ins.line, f'{ins.keyword} has an unclosed quote: the rules cannot read it'


def findings(text: str) -> list[str]:
    """Every rule on a Dockerfile's text: `line N: message`, in line order."""
    preamble, stages = parse(text)
    if not stages:
        return ['line 1: no FROM instruction']
    final = stages[-1]
    found: list[tuple[int, str]] = list(secret_findings(preamble)) + list(quote_findings(preamble))
    for stage in stages:
        found += quote_findings(stage.instructions)
        found += base_findings(stage)
        found += add_findings(stage)
        found += secret_findings(stage.instructions)
        found += cache_findings(stage)
        found += heredoc_findings(stage)
    found += python_findings(stages)
    found += user_findings(final)
    found += permission_findings(final)
    found += label_findings(final)
    found += runtime_findings(final)
    return [f'line {line}: {message}' for line, message in sorted(found, key=lambda f: f[0])]


def scratch_findings(pod_spec: Mapping[str, Any], scratch: Sequence[str]) -> list[str]:
    """Where a pod and the image disagree: each container needs a read-only root, an emptyDir at every scratch path
    the image writes to (its HOME and TMPDIR), and no HOME/TMPDIR of its own that points elsewhere."""
    empty_dirs = {v['name'] for v in pod_spec.get('volumes') or [] if 'emptyDir' in v}
    problems = []
    for container in pod_spec['containers']:
        name = container['name']
        if not (container.get('securityContext') or {}).get('readOnlyRootFilesystem'):
            problems.append(f'{name}: readOnlyRootFilesystem is not true')
        mounted = {m['mountPath'] for m in container.get('volumeMounts') or [] if m['name'] in empty_dirs}
        problems += [f'{name}: no emptyDir mounted at {path}' for path in scratch if path not in mounted]
        for var in container.get('env') or []:
            if var['name'] in ('HOME', 'TMPDIR') and var.get('value') not in mounted:
                problems.append(f'{name}: {var["name"]}={var.get("value")} is not a mounted emptyDir')
    return problems
