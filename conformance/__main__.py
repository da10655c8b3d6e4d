"""``python -m refcnn.conformance``: see :mod:`refcnn.conformance.runner`."""

import sys

from .runner import main

sys.exit(main())
