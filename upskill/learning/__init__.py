"""Enrolments, progress, skill estimates, knowledge tracing, learning paths; the dashboard."""
