"""CAP alerts from real warning centres, one module per job: ``parse`` (CAP 1.0/1.1/1.2 into typed values),
``policy`` (the mapping table and what may air), ``shapes`` and ``geography`` (where it is for, in our areas),
``language`` (what is read), ``resources`` (audio), ``signatures``, ``settings`` (issuers, feeds, geocodes,
outlines), ``importer`` (one import, one transaction), ``records`` and ``release`` (alerts received and held),
``feeds`` (Atom and RSS indexes) and ``http`` (fetching). docs/emergency.md explains the rules."""
