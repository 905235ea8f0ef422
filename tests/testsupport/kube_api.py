"""A stricter Kubernetes API emulator on top of kmock's `KubernetesEmulator`.

kmock stores bodies as given. Kopf and kubectl need more of the real API server's bookkeeping, so this subclass adds:
`uid`/`creationTimestamp`/`resourceVersion` (one global counter)/`generation` (bumped when `spec` changes),
`generateName`, `kind: <Kind>List` on lists, label and field selectors on list and watch, status-subresource
isolation, and 422 for failed JSON-patch `test`s. It also records every request (verb, group, resource,
subresource, namespace, name, user agent) so tests can prove which API rights a client really uses.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp.web
import jsonpatch
import kmock
from kmock._internal import dicts as kmock_dicts
from kmock._internal.k8s import KubernetesError

# Review resources are create-only and never stored: the API server answers each with the request plus `status`.
REVIEW_RESOURCES = {('authentication.k8s.io', 'tokenreviews'), ('authorization.k8s.io', 'subjectaccessreviews')}
Reviewer = Callable[[dict[str, Any], str | None], dict[str, Any]]  # (spec, caller's Authorization) → status
VERBS = {'LIST': 'list', 'WATCH': 'watch', 'FETCH': 'get', 'CREATE': 'create', 'UPDATE': 'patch', 'DELETE': 'delete'}
_SELECTOR_PART = re.compile(r'\s*([^,(]+(?:\([^)]*\))?)\s*(?:,|$)')


@dataclass(frozen=True)
class ApiRequest:
    """One request as RBAC sees it."""

    verb: str
    group: str
    version: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    user_agent: str


def _now() -> str:
    return datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


def parse_selector(selector: str) -> list[tuple[str, str, frozenset[str]]]:
    """Label selector → [(key, op, values)] with op in =, !=, in, notin, exists, !exists."""
    result = []
    for part in _SELECTOR_PART.findall(selector or ''):
        part = part.strip()
        if not part:
            continue
        if m := re.fullmatch(r'([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)', part):
            values = frozenset(v.strip() for v in m.group(3).split(',') if v.strip())
            result.append((m.group(1), m.group(2), values))
        elif m := re.fullmatch(r'([^\s!=]+)\s*(==|=|!=)\s*(\S*)', part):
            result.append((m.group(1), '!=' if m.group(2) == '!=' else '=', frozenset([m.group(3)])))
        elif part.startswith('!'):
            result.append((part[1:].strip(), '!exists', frozenset()))
        else:
            result.append((part, 'exists', frozenset()))
    return result


def matches_labels(labels: Mapping[str, str], selector: str) -> bool:
    for key, op, values in parse_selector(selector):
        present, value = key in labels, labels.get(key)
        ok = {
            '=': present and value in values,
            'in': present and value in values,
            '!=': not present or value not in values,
            'notin': not present or value not in values,
            'exists': present,
            '!exists': not present,
        }[op]
        if not ok:
            return False
    return True


def matches_fields(obj: Mapping[str, Any], selector: str) -> bool:
    for part in (selector or '').split(','):
        if not part.strip():
            continue
        key, op, value = re.fullmatch(r'([^!=]+)(==|=|!=)(.*)', part.strip()).groups()
        actual: Any = obj
        for step in key.split('.'):
            actual = actual.get(step) if isinstance(actual, Mapping) else None
        if (actual == value) != (op != '!='):
            return False
    return True


class StrictKubernetesEmulator(kmock.KubernetesEmulator):
    """kmock's emulator with the API-server bookkeeping Kopf and kubectl rely on."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._versions = itertools.count(1000)
        self._last_version = 1000
        self.requests_log: list[ApiRequest] = []
        self.reviewers: dict[str, Reviewer] = {}  # tokenreviews / subjectaccessreviews → how this cluster answers

    # -- bookkeeping ------------------------------------------------------------------------------------------------

    def _next_version(self) -> str:
        self._last_version = next(self._versions)
        return str(self._last_version)

    def _has_status(self, resource: Any) -> bool:
        for known, info in self.resources.items():
            if known == resource:
                return 'status' in (getattr(info, 'subresources', None) or set())
        return False

    def _current(self, request: Any) -> dict[str, Any] | None:
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].last.raw)

    def _record(self, request: Any) -> None:
        action = request.action.value if request.action is not None else request.method.value
        self.requests_log.append(
            ApiRequest(
                verb=VERBS.get(action, action.lower()),
                group=request.resource.group or '',
                version=request.resource.version or '',
                resource=request.resource.plural or '',
                subresource=request.subresource,
                namespace=request.namespace,
                name=request.name,
                user_agent=request.headers.get('User-Agent', ''),
            )
        )

    async def _handle(self, request: Any) -> Any:
        if request.resource is not None and (request.resource.group, request.resource.plural) in REVIEW_RESOURCES:
            self._record(request)
            return self._review(request)
        if request.resource is not None:
            self._record(request)
            action = request.action.value if request.action is not None else None
            if action == 'CREATE' and isinstance(request.data, dict):
                self._prepare_create(request)
            elif action == 'UPDATE' and request.name is not None:
                self._prepare_patch(request)
            elif request.method.value == 'PUT':
                raise KubernetesError(status=405, reason='MethodNotAllowed', message='PUT is not emulated; use PATCH')
        return await super()._handle(request)

    def _review(self, request: Any) -> aiohttp.web.Response:
        """A TokenReview or SubjectAccessReview: answered (201, never stored) by the test's `reviewers` entry, which
        sees the caller's Authorization header and may raise KubernetesError (e.g. 403: the caller may not review)."""
        plural = request.resource.plural
        if request.method.value != 'POST' or request.name is not None:
            raise KubernetesError(status=405, reason='MethodNotAllowed', message=f'{plural} only take create')
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.get('spec'), dict):
            raise KubernetesError(status=400, reason='BadRequest', message=f'a {plural} body needs a spec object')
        reviewer = self.reviewers.get(plural)
        if reviewer is None:
            raise KubernetesError(status=404, reason='NotFound', message=f'{plural} are not served by this emulator')
        status = reviewer(copy.deepcopy(body['spec']), request.headers.get('Authorization'))
        return aiohttp.web.json_response({**body, 'status': status}, status=201)

    def _prepare_create(self, request: Any) -> None:
        data = request.data
        meta = data.setdefault('metadata', {})
        if not meta.get('name') and meta.get('generateName'):
            meta['name'] = meta['generateName'] + secrets.token_hex(3)[:5]
        if not meta.get('name'):
            raise KubernetesError(status=422, reason='Invalid', message='metadata.name or generateName is required')
        if request.namespace and not meta.get('namespace'):
            meta['namespace'] = request.namespace
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now(), resourceVersion=self._next_version(), generation=1)
        meta.pop('deletionTimestamp', None)
        if self._has_status(request.resource) and request.subresource is None:
            data.pop('status', None)

    def _prepare_patch(self, request: Any) -> None:
        current = self._current(request)
        if current is None:
            return  # kmock answers 404
        status_only = request.subresource == 'status'
        isolate = self._has_status(request.resource)
        data = request.data
        if isinstance(data, list):
            keep = [op for op in data if self._allowed(op.get('path', ''), status_only, isolate)]
            data[:] = keep
            try:
                patched = jsonpatch.apply_patch(current, data, in_place=False)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise KubernetesError(status=422, reason='Invalid', message=f'the patch test failed: {exc}') from None
            except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPointerException) as exc:
                raise KubernetesError(status=422, reason='Invalid', message=f'the patch cannot apply: {exc}') from None
            data.append({'op': 'add', 'path': '/metadata/resourceVersion', 'value': self._next_version()})
            if patched.get('spec') != current.get('spec'):
                data.append(
                    {'op': 'add', 'path': '/metadata/generation', 'value': current['metadata'].get('generation', 1) + 1}
                )
        elif isinstance(data, dict):
            for key in list(data):
                if not self._allowed(f'/{key}', status_only, isolate):
                    del data[key]
            wanted = (data.get('metadata') or {}).get('resourceVersion')
            if wanted and wanted != current['metadata'].get('resourceVersion'):
                raise KubernetesError(status=409, reason='Conflict', message='the object has been modified')
            patched = kmock_dicts.patch_dict(copy.deepcopy(current), data)
            meta = data.setdefault('metadata', {})
            meta['resourceVersion'] = self._next_version()
            if patched.get('spec') != current.get('spec'):
                meta['generation'] = current['metadata'].get('generation', 1) + 1

    @staticmethod
    def _allowed(path: str, status_only: bool, isolate: bool) -> bool:
        top = path.lstrip('/').split('/', 1)[0]
        if status_only:
            return top in {'status', 'metadata'}
        return not (isolate and top == 'status')

    # -- reading ----------------------------------------------------------------------------------------------------

    def _selected(self, request: Any, obj: Mapping[str, Any]) -> bool:
        labels = (obj.get('metadata') or {}).get('labels') or {}
        return matches_labels(labels, request.params.get('labelSelector', '')) and matches_fields(
            obj, request.params.get('fieldSelector', '')
        )

    def _kind(self, request: Any, items: Iterable[Mapping[str, Any]]) -> str:
        for known, info in self.resources.items():
            if known == request.resource and info.kind:
                return info.kind
        return next((item.get('kind') for item in items if item.get('kind')), 'Unknown')

    async def _serve_list(self, request: Any) -> Any:
        result = await super()._serve_list(request)
        items = [item for item in result['items'] if self._selected(request, item)]
        group, version = request.resource.group, request.resource.version
        return {
            'apiVersion': f'{group}/{version}' if group else version,
            'kind': f'{self._kind(request, items)}List',
            'metadata': {'resourceVersion': str(self._last_version)},
            'items': items,
        }

    async def _serve_watch(self, request: Any) -> AsyncIterator[Any]:
        # Like the API server, a watch from `resourceVersion=N` does not replay objects already seen at N.
        since = (
            int(request.params.get('resourceVersion') or 0)
            if str(request.params.get('resourceVersion', '')).isdigit()
            else 0
        )
        async for event in super()._serve_watch(request):
            obj = event.get('object') if isinstance(event, Mapping) else None
            if isinstance(obj, Mapping):
                if not self._selected(request, obj):
                    continue
                version = str((obj.get('metadata') or {}).get('resourceVersion', ''))
                if event.get('type') == 'ADDED' and version.isdigit() and int(version) <= since:
                    continue
            yield event

    # -- for tests --------------------------------------------------------------------------------------------------

    def requests_by(self, user_agent_prefix: str) -> list[ApiRequest]:
        return [r for r in self.requests_log if r.user_agent.startswith(user_agent_prefix)]

    def stored(self, plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Live objects of one resource (by plural), for assertions."""
        found = []
        for (resource, ns, _), obj in self.objects.items():
            if resource.plural == plural and (namespace is None or ns == namespace) and not obj.deleted:
                found.append(copy.deepcopy(obj.last.raw))
        return found

    def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.stored(plural, namespace) if o['metadata']['name'] == name), None)


@contextlib.asynccontextmanager
async def serving_emulator() -> AsyncIterator[StrictKubernetesEmulator]:
    """A running strict emulator serving discovery for the bundled built-ins and our CRD; `requests_log` holds every
    request (verb, group, resource, subresource, namespace, name, user agent)."""
    from metrics_operator import names

    async with StrictKubernetesEmulator() as api, kmock.Server(api):
        api.resources.load_bundled()
        api.resources[f'{names.GROUP}/{names.VERSION}/{names.PLURAL}'] = kmock.ResourceInfo(
            kind=names.KIND,
            singular='metricscollection',
            namespaced=True,
            shortnames={'mc'},
            verbs={'list', 'watch', 'get', 'create', 'patch', 'update', 'delete'},
            subresources={'status'},
        )
        # OpenShift's Route (the dashboard's optional way in): not a built-in, so declared like a CRD.
        api.resources['route.openshift.io/v1/routes'] = kmock.ResourceInfo(
            kind='Route',
            singular='route',
            namespaced=True,
            verbs={'list', 'watch', 'get', 'create', 'patch', 'update', 'delete'},
            subresources={'status'},
        )
        yield api
