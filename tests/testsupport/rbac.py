"""Kubernetes RBAC evaluation (the rules of `k8s.io/kubernetes/pkg/apis/rbac/v1/evaluation_helpers.go`), offline.

Given rendered manifests (Roles, ClusterRoles and their bindings) and a ServiceAccount, decide whether a recorded
request (`testsupport.kube_api.ApiRequest`) would be allowed, and which rules no request ever used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class Request(Protocol):
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None


@dataclass(frozen=True)
class Rule:
    api_groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]
    resource_names: frozenset[str]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Rule:
        return cls(
            api_groups=frozenset(raw.get('apiGroups') or ()),
            resources=frozenset(raw.get('resources') or ()),
            verbs=frozenset(raw.get('verbs') or ()),
            resource_names=frozenset(raw.get('resourceNames') or ()),
        )

    def allows(self, request: Request) -> bool:
        return (
            ('*' in self.verbs or request.verb in self.verbs)
            and ('*' in self.api_groups or request.group in self.api_groups)
            and self._resource_matches(request)
            and (not self.resource_names or (request.name or '') in self.resource_names)
        )

    def _resource_matches(self, request: Request) -> bool:
        combined = f'{request.resource}/{request.subresource}' if request.subresource else request.resource
        for resource in self.resources:
            if resource in ('*', combined):
                return True
            if request.subresource and resource == f'*/{request.subresource}':
                return True
        return False

    def atoms(self) -> set[tuple[str, str, str]]:
        """(apiGroup, resource, verb) triples this rule grants, for the 'never needed' check."""
        return {(g, r, v) for g in self.api_groups for r in self.resources for v in self.verbs}


@dataclass(frozen=True)
class Grant:
    """Rules in force for a subject: `namespace` None means everywhere (a ClusterRoleBinding)."""

    namespace: str | None
    rules: tuple[Rule, ...]
    source: str


class Authorizer:
    """What one ServiceAccount may do, from the RBAC objects among `objects`."""

    def __init__(self, objects: Iterable[Mapping[str, Any]], sa_namespace: str, sa_name: str) -> None:
        objects = list(objects)
        roles = {(o['metadata'].get('namespace'), o['metadata']['name']): o for o in objects if o['kind'] == 'Role'}
        cluster_roles = {o['metadata']['name']: o for o in objects if o['kind'] == 'ClusterRole'}
        self.grants: list[Grant] = []
        for binding in objects:
            if binding['kind'] not in ('RoleBinding', 'ClusterRoleBinding'):
                continue
            if not any(
                s.get('kind') == 'ServiceAccount' and s.get('name') == sa_name and s.get('namespace') == sa_namespace
                for s in binding.get('subjects') or []
            ):
                continue
            ref = binding['roleRef']
            namespace = binding['metadata'].get('namespace') if binding['kind'] == 'RoleBinding' else None
            role = roles.get((namespace, ref['name'])) if ref['kind'] == 'Role' else cluster_roles.get(ref['name'])
            if role is None:
                continue  # a dangling roleRef grants nothing (e.g. an external ClusterRole)
            rules = tuple(Rule.of(r) for r in role.get('rules') or [])
            self.grants.append(Grant(namespace, rules, f'{binding["kind"]}/{binding["metadata"]["name"]}'))

    def allows(self, request: Request) -> bool:
        for grant in self.grants:
            # A RoleBinding only covers requests inside its namespace (never cluster-scoped or all-namespace ones).
            if grant.namespace is not None and request.namespace != grant.namespace:
                continue
            if any(rule.allows(request) for rule in grant.rules):
                return True
        return False

    def rules(self) -> list[Rule]:
        return [rule for grant in self.grants for rule in grant.rules]

    def unused(self, requests: Iterable[Request]) -> set[tuple[str, str, str]]:
        """Granted (apiGroup, resource, verb) triples that no request exercised."""
        requests = list(requests)
        unused: set[tuple[str, str, str]] = set()
        for rule in self.rules():
            for group, resource, verb in rule.atoms():
                probe = Rule(frozenset([group]), frozenset([resource]), frozenset([verb]), rule.resource_names)
                if not any(probe.allows(r) for r in requests):
                    unused.add((group, resource, verb))
        return unused


def describe(request: Request) -> str:
    resource = f'{request.resource}/{request.subresource}' if request.subresource else request.resource
    where = f'namespace {request.namespace}' if request.namespace else 'cluster scope'
    return f'{request.verb} {request.group or "core"}/{resource} in {where}'
