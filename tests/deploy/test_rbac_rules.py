"""The RBAC evaluator itself (`testsupport.rbac`): Kubernetes' matching rules, so the proof in test_rbac is not
vacuous."""

from __future__ import annotations

from typing import Any

import pytest

from testsupport.kube_api import ApiRequest
from testsupport.rbac import Authorizer, Rule

SA = {'kind': 'ServiceAccount', 'name': 'op', 'namespace': 'aap'}


def req(verb: str, resource: str, ns: str | None = 'aap', group: str = '', sub: str | None = None, name=None):
    return ApiRequest(verb, group, 'v1', resource, sub, ns, name, 'kopf/test')


def role(kind: str, rules: list[dict[str, Any]], ns: str | None = 'aap') -> dict[str, Any]:
    meta = {'name': 'r', **({'namespace': ns} if kind == 'Role' else {})}
    return {'kind': kind, 'metadata': meta, 'rules': rules}


def binding(kind: str, ref_kind: str, ns: str | None = 'aap', subject: dict | None = None) -> dict[str, Any]:
    meta = {'name': 'b', **({'namespace': ns} if kind == 'RoleBinding' else {})}
    return {'kind': kind, 'metadata': meta, 'roleRef': {'kind': ref_kind, 'name': 'r'}, 'subjects': [subject or SA]}


@pytest.mark.parametrize(
    ('rule', 'request_', 'allowed'),
    [
        (
            {'apiGroups': ['batch'], 'resources': ['cronjobs'], 'verbs': ['get']},
            req('get', 'cronjobs', group='batch'),
            1,
        ),
        (
            {'apiGroups': ['batch'], 'resources': ['cronjobs'], 'verbs': ['get']},
            req('list', 'cronjobs', group='batch'),
            0,
        ),
        ({'apiGroups': [''], 'resources': ['cronjobs'], 'verbs': ['get']}, req('get', 'cronjobs', group='batch'), 0),
        ({'apiGroups': ['*'], 'resources': ['*'], 'verbs': ['*']}, req('delete', 'pods'), 1),
        (
            {'apiGroups': ['g'], 'resources': ['mcs'], 'verbs': ['patch']},
            req('patch', 'mcs', group='g', sub='status'),
            0,
        ),
        ({'apiGroups': ['g'], 'resources': ['mcs/status'], 'verbs': ['patch']}, req('patch', 'mcs', group='g'), 0),
        (
            {'apiGroups': ['g'], 'resources': ['mcs/status'], 'verbs': ['patch']},
            req('patch', 'mcs', group='g', sub='status'),
            1,
        ),
        (
            {'apiGroups': ['g'], 'resources': ['*/status'], 'verbs': ['patch']},
            req('patch', 'x', group='g', sub='status'),
            1,
        ),
        (
            {'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get'], 'resourceNames': ['a']},
            req('get', 'secrets', name='a'),
            1,
        ),
        (
            {'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['get'], 'resourceNames': ['a']},
            req('get', 'secrets', name='b'),
            0,
        ),
        (
            {'apiGroups': [''], 'resources': ['secrets'], 'verbs': ['list'], 'resourceNames': ['a']},
            req('list', 'secrets'),
            0,
        ),
    ],
)
def test_rule_matching(rule: dict, request_: ApiRequest, allowed: int) -> None:
    assert Rule.of(rule).allows(request_) is bool(allowed)


PODS = [{'apiGroups': [''], 'resources': ['pods'], 'verbs': ['list']}]


def test_role_binding_covers_its_namespace_only() -> None:
    auth = Authorizer([role('Role', PODS), binding('RoleBinding', 'Role')], 'aap', 'op')
    assert auth.allows(req('list', 'pods'))
    assert not auth.allows(req('list', 'pods', ns='other'))
    assert not auth.allows(req('list', 'pods', ns=None))  # all-namespace list needs a ClusterRoleBinding


def test_cluster_role_via_role_binding_is_still_namespaced() -> None:
    auth = Authorizer([role('ClusterRole', PODS), binding('RoleBinding', 'ClusterRole')], 'aap', 'op')
    assert auth.allows(req('list', 'pods')) and not auth.allows(req('list', 'pods', ns=None))


def test_cluster_role_binding_covers_everything() -> None:
    auth = Authorizer([role('ClusterRole', PODS), binding('ClusterRoleBinding', 'ClusterRole')], 'aap', 'op')
    assert auth.allows(req('list', 'pods', ns=None)) and auth.allows(req('list', 'pods', ns='other'))


def test_other_subjects_and_dangling_refs_grant_nothing() -> None:
    other = {'kind': 'ServiceAccount', 'name': 'op', 'namespace': 'elsewhere'}
    assert not Authorizer([role('Role', PODS), binding('RoleBinding', 'Role', subject=other)], 'aap', 'op').grants
    assert not Authorizer([binding('RoleBinding', 'Role')], 'aap', 'op').grants


def test_unused_lists_every_granted_verb_no_request_needed() -> None:
    rules = [{'apiGroups': [''], 'resources': ['pods', 'events'], 'verbs': ['list', 'create']}]
    auth = Authorizer([role('Role', rules), binding('RoleBinding', 'Role')], 'aap', 'op')
    assert auth.unused([req('list', 'pods'), req('create', 'events')]) == {
        ('', 'pods', 'create'),
        ('', 'events', 'list'),
    }
