"""Errors a user can act on: jobs print them as one line and exit with status 2, no traceback."""


def one_line(message: object) -> str:
    """A message on one line (engines such as ONNX Runtime write theirs over several)."""
    return " ".join(str(message).split())


class PhotolakeError(Exception):
    """Base for errors whose message tells the user what to do."""


class DatasetNotFound(PhotolakeError):
    pass


class LakeTableMissing(PhotolakeError):
    pass


class LakeTableOutdated(PhotolakeError):
    """A table written before its schema gained columns the reading job needs."""


class StepSkipped(PhotolakeError):
    """A step that cannot run here and was allowed not to (detect without its model files and
    ``detect.required = false``): the pipeline goes on, and the message says how to make it run."""


class LakeDamaged(PhotolakeError):
    """A file of the lake cannot be read (truncated, not Parquet, a junk state file)."""


class StorageFailed(PhotolakeError):
    """A write failed for want of space or permission."""
