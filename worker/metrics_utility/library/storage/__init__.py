"""Storage targets: one interface (`Storage`) for directories, S3, console.redhat.com and Segment.

The names are imported on first use (`library.lazy`): a directory gather or report never loads boto3, and
`base` alone never loads requests.
"""

from metrics_utility.library.lazy import lazy_exports

_WHERE = {
    'PutOnlyStorage': '.base',
    'PutOnlyStorageError': '.base',
    'Storage': '.base',
    'StorageError': '.base',
    'StorageCRC': '.crc',
    'ClientIdentity': '.crc_identity',
    'StorageCRCIdentity': '.crc_identity',
    'cert_ingress_url': '.crc_identity',
    'StorageCRCMutual': '.crc_mutual',
    'StorageDirectory': '.directory',
    'RetryPolicy': '.http',
    'DEFAULT_CERT_INGRESS_URL': '.ingress',
    'DEFAULT_INGRESS_URL': '.ingress',
    'UploadReceipt': '.ingress',
    'StorageS3': '.s3',
    'StorageSegment': '.segment',
    'DEFAULT_SSO_URL': '.sso',
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)
