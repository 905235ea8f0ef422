"""Storage targets: one interface (`Storage`) for directories, S3, console.redhat.com and Segment."""

from .base import PutOnlyStorage, PutOnlyStorageError, Storage, StorageError
from .directory import StorageDirectory

__all__ = ['PutOnlyStorage', 'PutOnlyStorageError', 'Storage', 'StorageDirectory', 'StorageError']
