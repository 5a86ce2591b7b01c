"""The quality app's tables: the metric registry (each KPI as data) and what the statistics,
evaluation, inspection and staffing pages keep."""

from __future__ import annotations
