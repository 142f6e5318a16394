"""The manager's report: ``build_report`` writes one self-contained HTML file (see ``uptake.report.html``)."""

from uptake.report.html import SECTIONS, ReportResult, build_report

__all__ = ["SECTIONS", "ReportResult", "build_report"]
