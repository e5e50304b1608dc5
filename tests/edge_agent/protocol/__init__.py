"""The wire contract (edge_agent/protocol/)."""
