"""Batch audit of exported notes: readers and writers, the local engine, claim rules, the report."""

from __future__ import annotations

from .engine import AuditOptions, AuditSummary, audit
from .io import AuditInputError

__all__ = ["AuditInputError", "AuditOptions", "AuditSummary", "audit"]
