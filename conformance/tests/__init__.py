"""The suite's own tests, collected by ``pytest conformance`` in a clone and
by ``refcnn conformance`` from the wheel; their ``conftest.py`` loads the
plugin. They may import every subpackage."""
