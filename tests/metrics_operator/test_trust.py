"""Which images and service accounts a collection may ask for (issue #17, class 9): pure decisions."""

from __future__ import annotations

import pytest

from metrics_operator import spec, trust
from metrics_operator.config import OperatorConfig
from testsupport.operator_samples import collection

pytestmark = pytest.mark.unit
WORKER = 'registry.example/metrics-utility@sha256:' + 'a' * 64
ALLOWED = trust.Allowed(WORKER, images=('registry.example/metrics-utility:2.1',), service_accounts=('mu-worker',))
IMAGE_HELP = "an administrator may add it to the operator's allowed images"
SA_HELP = "an administrator may add it to the operator's allowed service accounts"
LISTED = f'{WORKER}, registry.example/metrics-utility:2.1'

CASES = {
    'no image, no account: the defaults': ({}, None),
    "the operator's own worker image": ({'image': WORKER}, None),
    'an image the settings list': ({'image': 'registry.example/metrics-utility:2.1'}, None),
    'an empty image means the default': ({'image': ''}, None),
    'an account the settings list': ({'serviceAccountName': 'mu-worker'}, None),
    'any other image': (
        {'image': 'evil.example/miner:latest'},
        (
            'ImageNotAllowed',
            f"spec.image: 'evil.example/miner:latest' is not an allowed worker image ({LISTED}); {IMAGE_HELP}",
        ),
    ),
    'the worker image under another digest': (
        {'image': 'registry.example/metrics-utility@sha256:' + 'b' * 64},
        (
            'ImageNotAllowed',
            f"spec.image: 'registry.example/metrics-utility@sha256:{'b' * 64}' is not an allowed "
            f'worker image ({LISTED}); {IMAGE_HELP}',
        ),
    ),
    'an allowed repository under another tag': (
        {'image': 'registry.example/metrics-utility:latest'},
        (
            'ImageNotAllowed',
            f"spec.image: 'registry.example/metrics-utility:latest' is not an allowed worker image "
            f'({LISTED}); {IMAGE_HELP}',
        ),
    ),
    'an allowed image with a trailing space': (
        {'image': 'registry.example/metrics-utility:2.1 '},
        (
            'ImageNotAllowed',
            f"spec.image: 'registry.example/metrics-utility:2.1 ' is not an allowed worker image "
            f'({LISTED}); {IMAGE_HELP}',
        ),
    ),
    'a privileged account of the namespace': (
        {'serviceAccountName': 'admin'},
        (
            'ServiceAccountNotAllowed',
            f"spec.serviceAccountName: 'admin' is not an allowed worker service account "
            f'(allowed: mu-worker); {SA_HELP}',
        ),
    ),
    "the operator's own account": (
        {'serviceAccountName': 'metrics-utility'},
        (
            'ServiceAccountNotAllowed',
            f"spec.serviceAccountName: 'metrics-utility' is not an allowed worker service "
            f'account (allowed: mu-worker); {SA_HELP}',
        ),
    ),
    'default named explicitly': (
        {'serviceAccountName': 'default'},
        (
            'ServiceAccountNotAllowed',
            f"spec.serviceAccountName: 'default' is not an allowed worker service account "
            f'(allowed: mu-worker); {SA_HELP}',
        ),
    ),
    'an allowed image with a forbidden account': (
        {'image': WORKER, 'serviceAccountName': 'admin'},
        (
            'ServiceAccountNotAllowed',
            f"spec.serviceAccountName: 'admin' is not an allowed worker service account "
            f'(allowed: mu-worker); {SA_HELP}',
        ),
    ),
}


@pytest.mark.hostile
@pytest.mark.parametrize('case', CASES, ids=list(CASES))
def test_refusal_names_the_field(case):
    fields, expected = CASES[case]
    full = spec.validate('controller', collection(**fields)['spec'])
    found = trust.refusal(full, ALLOWED)
    assert ((found.reason, found.message) if found else None) == expected


@pytest.mark.hostile
def test_without_settings_no_account_is_allowed():
    full = spec.validate('controller', collection(serviceAccountName='mu-worker')['spec'])
    found = trust.refusal(full, trust.Allowed(WORKER))
    assert (found.reason, found.message) == (
        'ServiceAccountNotAllowed',
        f"spec.serviceAccountName: 'mu-worker' is not an allowed worker service account (allowed: none); {SA_HELP}",
    )


def test_allowed_lists_come_from_the_operator_settings():
    config = OperatorConfig.from_env(
        {
            'METRICS_OPERATOR_WORKER_IMAGE': WORKER,
            'METRICS_OPERATOR_ALLOWED_IMAGES': ' registry.example/a:1, ,registry.example/b@sha256:00 ',
            'METRICS_OPERATOR_ALLOWED_SERVICE_ACCOUNTS': 'mu-worker,reporting',
        }
    )
    assert config.allowed == trust.Allowed(
        WORKER, ('registry.example/a:1', 'registry.example/b@sha256:00'), ('mu-worker', 'reporting')
    )
    assert OperatorConfig.from_env({}).allowed == trust.Allowed(OperatorConfig.worker_image)
