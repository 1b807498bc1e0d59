"""Governance: declared guardrails applied, audited and proven (plan/apply, audit, IAM)."""
