"""``python -m broadcaster.migrations "what changed"``: autogenerate a new revision."""

from broadcaster.migrations import main

main()
