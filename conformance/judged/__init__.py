"""The judged side: the only code that runs beside the code being judged.

:mod:`.worker` serves calls in the sandboxed worker process, :mod:`.loading`
finds and imports the implementation there, :mod:`.protocol` is what crosses
the pipe (plain arrays and plain data). It imports nothing from the rest of
the suite: the worker loads this folder alone, as a bare package.
"""
