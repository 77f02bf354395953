"""Errors a user can cause. The CLI prints their message on one line and exits non-zero."""

from __future__ import annotations


class NewswatchError(Exception):
    """Base class: the message is a complete sentence a user can act on."""


class ConfigError(NewswatchError):
    """A setting or config file is invalid."""


TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(NewswatchError):
    """An HTTP fetch failed; ``reason`` is short and stored on the feed or article."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, retry_after: float | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429 / 503)
        # worth trying again soon: a timeout, a dropped connection, 429 or a 5xx answer
        self.transient = transient if transient is not None else (
            status in TRANSIENT_STATUSES if status is not None else False)


class BlockedAddressError(FetchError):
    """The URL resolves to an address the network policy refuses."""


class FeedParseError(NewswatchError):
    """A fetched document is not a feed we can read."""


class QuerySyntaxError(NewswatchError):
    """A search query is malformed; ``position`` is the 0-based character offset."""

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"invalid query{where}: {message}")
        self.position = position


class NotFoundError(NewswatchError):
    """A feed, article or story asked for by the user does not exist."""


class InvalidRequestError(NewswatchError):
    """A request a user made is wrong as given (a bad address, an unknown topic, a taken
    name); the message says what to change. The API answers it with 400."""
