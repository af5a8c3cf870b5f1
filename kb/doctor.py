"""Checking and repairing a store (`kb doctor`): it opens the store directly, so it sees
stale caches before anything rebuilds them, and needs no model."""

from index.doctor import Report, check

__all__ = ["Report", "check"]
