"""Village receiver: keeps its schedule and audio locally, plays on time, reports back."""

__version__ = "0.1.0"
