"""``python -m refcnn.conformance``: see :mod:`refcnn.conformance.running.runner`."""

import sys

from .running.runner import main

sys.exit(main())
