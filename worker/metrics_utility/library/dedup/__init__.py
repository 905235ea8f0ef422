"""Deduplication modes: which identities or host metric rows are the same machine."""

from .ccsp import CCSP_MODES, apply, identity_map
from .renewal import RENEWAL_MODES, deduplicate, group_ids

MODES = CCSP_MODES + RENEWAL_MODES

__all__ = ['CCSP_MODES', 'MODES', 'RENEWAL_MODES', 'apply', 'deduplicate', 'group_ids', 'identity_map']
