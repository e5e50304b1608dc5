"""The worker (broadcaster/delivery/)."""
