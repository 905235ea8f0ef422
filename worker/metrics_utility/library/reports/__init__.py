"""Reports: CCSPv2, CCSP and Renewal Guidance workbooks built from daily rollups.

The names are imported on first use (`library.lazy`): listing and fetching stored reports (`catalog`) never loads
the report stack (pandas, pyarrow, openpyxl). The function `build` lives in `builder`, so no submodule shadows it.
"""

from metrics_utility.library.lazy import lazy_exports

_WHERE = {
    'BuildResult': '.builder',
    'build': '.builder',
    'report_name': '.builder',
    'required_rollups': '.builder',
    'ReportCCSP': '.ccsp',
    'ReportCCSPv2': '.ccspv2',
    'ReportData': '.data',
    'CCSPV2_SHEETS': '.options',
    'CCSP_SHEETS': '.options',
    'DEFAULT_SHEETS': '.options',
    'REPORT_TYPES': '.options',
    'VALID_SHEETS': '.options',
    'ReportOptions': '.options',
    'ReportRenewalGuidance': '.renewal',
}
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
__all__ = sorted(_WHERE)
