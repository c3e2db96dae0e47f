"""How a photo's download fails: the status it gets (one of ``schemas.DOWNLOAD_STATUSES``) and why."""

from __future__ import annotations


class FetchFailure(Exception):
    """``status`` and ``error`` go in the photo's downloads row; ``retry`` says whether another attempt may
    succeed, ``retry_after`` how long the server asked to wait."""

    def __init__(self, status: str, error: str, http_status: int | None = None, retry: bool = False,
                 retry_after: float | None = None):
        super().__init__(error)
        self.status, self.error, self.http_status = status, error, http_status
        self.retry, self.retry_after = retry, retry_after
