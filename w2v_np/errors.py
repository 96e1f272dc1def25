"""The one exception type users see for bad input.

Every check on user input (files, hyper-parameters, words, backends) raises
:class:`W2VError` with a one-line message naming the problem; the CLI prints that
line and exits with status 2 instead of showing a traceback.
"""


class W2VError(ValueError):
    """Bad input or an impossible request, described in one line."""
