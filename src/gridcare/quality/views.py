"""Statistics, evaluation, inspection and staffing pages."""

from __future__ import annotations
