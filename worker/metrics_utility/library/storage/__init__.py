"""Storage targets: one interface (`Storage`) for directories, S3, console.redhat.com and Segment."""

from .base import PutOnlyStorage, PutOnlyStorageError, Storage, StorageError
from .crc import StorageCRC
from .crc_identity import ClientIdentity, StorageCRCIdentity, cert_ingress_url
from .crc_mutual import StorageCRCMutual
from .directory import StorageDirectory
from .http import RetryPolicy
from .ingress import DEFAULT_CERT_INGRESS_URL, DEFAULT_INGRESS_URL, UploadReceipt
from .s3 import StorageS3
from .segment import StorageSegment
from .sso import DEFAULT_SSO_URL

__all__ = [
    'DEFAULT_CERT_INGRESS_URL',
    'DEFAULT_INGRESS_URL',
    'DEFAULT_SSO_URL',
    'ClientIdentity',
    'PutOnlyStorage',
    'PutOnlyStorageError',
    'RetryPolicy',
    'Storage',
    'StorageCRC',
    'StorageCRCIdentity',
    'StorageCRCMutual',
    'StorageDirectory',
    'StorageError',
    'StorageS3',
    'StorageSegment',
    'UploadReceipt',
    'cert_ingress_url',
]
