"""The tests read refcnn's English: whatever the developer's locale, the
tests and the sessions they start speak English unless a test asks for
another language (``--lang``, ``lang=``, its own ``LANG``)."""

import os

for _name in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"
