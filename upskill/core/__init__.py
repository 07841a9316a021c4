"""Cross-cutting pieces: domain errors, durable jobs, health checks, API plumbing."""
