"""Rebuild the derived golden fixtures from torch, or check them.

    python scripts/regenerate_fixtures.py            # rebuild all
    python scripts/regenerate_fixtures.py --op max_pooling2d
    python scripts/regenerate_fixtures.py --check    # exit 1 and a diff summary on drift

The article's transcribed fixtures are verified against refcnn and torch,
never modified. See conformance/expected/golden.py.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.expected.golden import main

if __name__ == "__main__":
    sys.exit(main())
