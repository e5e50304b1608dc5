"""Deployment and demo tools (broadcaster/ops/)."""
