"""Errors a user can act on: jobs print them as one line and exit with status 2, no traceback."""


class PhotolakeError(Exception):
    """Base for errors whose message tells the user what to do."""


class DatasetNotFound(PhotolakeError):
    pass


class LakeTableMissing(PhotolakeError):
    pass


class LakeTableOutdated(PhotolakeError):
    """A table written before its schema gained columns the reading job needs."""
