import sys

from broadcaster.ops.conformance.cli import main

sys.exit(main())
