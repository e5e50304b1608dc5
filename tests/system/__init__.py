"""The whole: end to end, the demo, the documents, packaging, configuration, units, the house rules."""
