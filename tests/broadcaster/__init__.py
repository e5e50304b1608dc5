"""The server (broadcaster/): what its rooms share."""
