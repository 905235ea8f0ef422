"""Who may choose what the worker pods run as: the operator is no way around RBAC (issue #17, class 9).

Why: the operator creates the pods, so without a check anyone who may create a `MetricsCollection` could run any
image under any service account of the namespace — rights they may not have themselves (a confused deputy). The
operator's settings (chart values) name the images and service accounts a collection may ask for; the operator's
own worker image is always allowed, and a collection without `serviceAccountName` gets the namespace's default
account, as any pod does. Anything else is refused before a single object is written (docs/install.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Allowed:
    """What a collection may ask for besides the defaults."""

    worker_image: str
    images: tuple[str, ...] = ()
    service_accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def refusal(full: Mapping[str, Any], allowed: Allowed) -> Refusal | None:
    """None when the spec asks only for what the operator's settings allow, else why not (naming the field)."""
    image = full.get('image')
    if image and image != allowed.worker_image and image not in allowed.images:
        listed = ', '.join([allowed.worker_image, *allowed.images])
        return Refusal(
            'ImageNotAllowed',
            f'spec.image: {image!r} is not an allowed worker image ({listed}); '
            "an administrator may add it to the operator's allowed images",
        )
    account = full.get('serviceAccountName')
    if account and account not in allowed.service_accounts:
        listed = ', '.join(allowed.service_accounts) or 'none'
        return Refusal(
            'ServiceAccountNotAllowed',
            f'spec.serviceAccountName: {account!r} is not an allowed worker '
            f"service account (allowed: {listed}); an administrator may add it to the operator's "
            'allowed service accounts',
        )
    return None
