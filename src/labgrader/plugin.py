"""The labgrader pytest plugin (filled in by the check-run work)."""
