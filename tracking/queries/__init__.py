"""Reads beyond one QuerySet method: the staff list, API health (later: analytics)."""
