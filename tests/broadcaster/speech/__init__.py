"""Text to speech (broadcaster/speech/)."""
