"""The receiver (edge_agent/)."""
