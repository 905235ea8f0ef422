"""Plays the CronJob and Job controllers (none run in the emulator): Jobs from a CronJob's template, their pods, and
how they end. Everything goes over HTTP so the operator sees real watch events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from testsupport.kube_client import ApiUser

SCHEDULED = 'batch.kubernetes.io/cronjob-scheduled-timestamp'


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')


class FakeCronJobController:
    def __init__(self, url: str) -> None:
        self.url = str(url).rstrip('/')
        self._api = ApiUser(self.url, user_agent='fake-cronjob-controller')

    async def _call(self, method: str, path: str, body: Any = None, patch: str = 'merge') -> dict[str, Any]:
        types = {'merge': 'application/merge-patch+json', 'json': 'application/json-patch+json'}
        return await self._api.call(method, path, body, types[patch] if method == 'PATCH' else 'application/json')

    async def cronjob(self, namespace: str, name: str) -> dict[str, Any]:
        return await self._call('GET', f'/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}')

    async def schedule(self, namespace: str, cronjob: str, at: datetime) -> dict[str, Any]:
        """Create the Job the CronJob controller would create for the run scheduled `at`."""
        cj = await self.cronjob(namespace, cronjob)
        template = cj['spec']['jobTemplate']
        minutes = int(at.timestamp() // 60)
        job = {
            'apiVersion': 'batch/v1',
            'kind': 'Job',
            'metadata': {
                'name': f'{cronjob}-{minutes}',
                'namespace': namespace,
                'labels': dict(template.get('metadata', {}).get('labels', {})),
                'annotations': {**template.get('metadata', {}).get('annotations', {}), SCHEDULED: _ts(at)},
                'ownerReferences': [
                    {
                        'apiVersion': 'batch/v1',
                        'kind': 'CronJob',
                        'name': cronjob,
                        'uid': cj['metadata']['uid'],
                        'controller': True,
                        'blockOwnerDeletion': True,
                    }
                ],
            },
            'spec': template['spec'],
        }
        created = await self._call('POST', f'/apis/batch/v1/namespaces/{namespace}/jobs', job)
        await self._call(
            'PATCH',
            f'/apis/batch/v1/namespaces/{namespace}/jobs/{created["metadata"]["name"]}/status',
            {'status': {'active': 1, 'startTime': _ts(at)}},
        )
        return created

    async def finish(
        self,
        job: Mapping[str, Any],
        *,
        succeeded: bool,
        message: str | None,
        reason: str = 'BackoffLimitExceeded',
        at: datetime | None = None,
    ) -> None:
        """End the Job: a pod whose container terminated with `message`, then the Job's final condition."""
        namespace, name = job['metadata']['namespace'], job['metadata']['name']
        end = at or datetime.now(UTC)
        template = job['spec']['template']
        pod = {
            'apiVersion': 'v1',
            'kind': 'Pod',
            'metadata': {
                'generateName': f'{name}-',
                'namespace': namespace,
                'labels': {
                    **template['metadata'].get('labels', {}),
                    'batch.kubernetes.io/job-name': name,
                    'job-name': name,
                },
                'ownerReferences': [
                    {
                        'apiVersion': 'batch/v1',
                        'kind': 'Job',
                        'name': name,
                        'uid': job['metadata']['uid'],
                        'controller': True,
                    }
                ],
            },
            'spec': template['spec'],
        }
        created = await self._call('POST', f'/api/v1/namespaces/{namespace}/pods', pod)
        terminated: dict[str, Any] = {'exitCode': 0 if succeeded else 1, 'finishedAt': _ts(end)}
        terminated['reason'] = 'Completed' if succeeded else 'Error'
        if message is not None:
            terminated['message'] = message
        await self._call(
            'PATCH',
            f'/api/v1/namespaces/{namespace}/pods/{created["metadata"]["name"]}/status',
            {
                'status': {
                    'phase': 'Succeeded' if succeeded else 'Failed',
                    'containerStatuses': [{'name': 'worker', 'state': {'terminated': terminated}}],
                }
            },
        )
        if succeeded:
            conditions = [{'type': 'Complete', 'status': 'True', 'lastTransitionTime': _ts(end)}]
            status = {'active': None, 'succeeded': 1, 'completionTime': _ts(end), 'conditions': conditions}
        else:
            text = {'BackoffLimitExceeded': 'Job has reached the specified backoff limit'}.get(reason, 'Job failed')
            conditions = [
                {'type': 'Failed', 'status': 'True', 'reason': reason, 'message': text, 'lastTransitionTime': _ts(end)}
            ]
            status = {'active': None, 'failed': 1, 'conditions': conditions}
        await self._call('PATCH', f'/apis/batch/v1/namespaces/{namespace}/jobs/{name}/status', {'status': status})

    async def run(
        self, namespace: str, cronjob: str, *, succeeded: bool, message: str | None, at: datetime, duration: float = 60
    ) -> dict[str, Any]:
        job = await self.schedule(namespace, cronjob, at)
        await self.finish(job, succeeded=succeeded, message=message, at=at + timedelta(seconds=duration))
        return job

    async def index_progress(
        self,
        namespace: str,
        job: str,
        *,
        completed: str = '',
        failed: str = '',
        active: int = 0,
        finished: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Play the Job controller for an Indexed Job: completed/failed index lists, counts and the final condition
        ('Complete' or 'Failed'), as `status.completedIndexes` / `status.failedIndexes` (backoffLimitPerIndex)."""
        moment = _ts(at or datetime.now(UTC))

        def count(indexes: str) -> int:
            return sum(int(p.partition('-')[2] or p) - int(p.partition('-')[0]) + 1 for p in indexes.split(',') if p)

        status: dict[str, Any] = {
            'startTime': moment,
            'active': active or None,
            'succeeded': count(completed),
            'failed': count(failed),
            'completedIndexes': completed or None,
            'failedIndexes': failed or None,
        }
        if finished is not None:
            condition = {'type': finished, 'status': 'True', 'lastTransitionTime': moment}
            if finished == 'Failed':
                condition |= {'reason': 'FailedIndexes', 'message': 'Job has failed indexes'}
            else:
                status['completionTime'] = moment
            status['conditions'] = [condition]
        await self._call('PATCH', f'/apis/batch/v1/namespaces/{namespace}/jobs/{job}/status', {'status': status})
