"""Figures for staff: the dashboard, the monthly report (page and PDF) and the exports (CSV, XLSX)."""
