"""The manager's report: ``build_report`` writes one self-contained HTML file (see ``uptake.report.build``)."""

from uptake.report.build import build_report
from uptake.report.model import SECTIONS, ReportResult

__all__ = ["SECTIONS", "ReportResult", "build_report"]
