"""assessment: see docs/architecture.md for what this app will hold (not built yet)."""
