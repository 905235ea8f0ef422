"""Reports: CCSPv2, CCSP and Renewal Guidance workbooks built from daily rollups."""

from .build import BuildResult, build, report_name, required_rollups
from .ccsp import ReportCCSP
from .ccspv2 import ReportCCSPv2
from .data import ReportData
from .options import CCSP_SHEETS, CCSPV2_SHEETS, DEFAULT_SHEETS, REPORT_TYPES, VALID_SHEETS, ReportOptions
from .renewal import ReportRenewalGuidance

__all__ = [
    'CCSPV2_SHEETS',
    'CCSP_SHEETS',
    'DEFAULT_SHEETS',
    'REPORT_TYPES',
    'VALID_SHEETS',
    'BuildResult',
    'ReportCCSP',
    'ReportCCSPv2',
    'ReportData',
    'ReportOptions',
    'ReportRenewalGuidance',
    'build',
    'report_name',
    'required_rollups',
]
