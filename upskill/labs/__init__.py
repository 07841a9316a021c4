"""labs: project labs on real data, graded in the sandbox (see docs/architecture.md)."""
