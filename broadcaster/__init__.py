"""Broadcast server: bulletins, approval, scheduling, speech, distribution to receivers."""

from edge_agent import __version__

__all__ = ["__version__"]
