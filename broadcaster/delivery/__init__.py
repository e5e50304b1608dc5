"""Delivery: the worker process. It renders queued broadcasts, signs and publishes audio, schedules, alerts
and settings to the broker, stores the receivers' reports, and sweeps for silence and missing reports; one
worker leads (``leader``), the others stand by."""
