"""What every route depends on: the application's runtime (opened once, 503 while the state
store or index is down) and the API key (header X-API-Key)."""

from __future__ import annotations

import difflib
import hmac
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader

from api.problems import OUTAGES, RETRY_OPEN_SECONDS, ProblemError, Unavailable, log
from core.errors import InvalidRequestError, NewswatchError, NotFoundError, QuerySyntaxError
from core.runtime import Runtime
from core.settings import Settings
from newswatch.resources import open_runtime

API_KEY_HEADER = "X-API-Key"


# ---------------------------------------------------------------------------------------
# The runtime of one application


class RuntimeHolder:
    """Opens the app's Runtime once; while the state store or index is unreachable, requests
    are answered 503 and opening is retried at most every ``retry_seconds``."""

    def __init__(
        self, settings: Settings, opener: Callable[[Settings], Runtime] = open_runtime,
        retry_seconds: float = RETRY_OPEN_SECONDS,
    ) -> None:
        self.settings = settings
        self._opener = opener
        self._retry = retry_seconds
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._failed_at: float | None = None
        self._closed = False

    def open(self) -> None:
        """Try to open now (at startup); failures are logged, not raised."""
        with suppress(Unavailable):
            self.get()

    def get(self) -> Runtime:
        with self._lock:
            if self._runtime is not None:
                return self._runtime
            if self._closed:
                raise Unavailable("search API")
            now = time.monotonic()
            if self._failed_at is not None and now - self._failed_at < self._retry:
                raise Unavailable("state store or search index")
            try:
                self._runtime = self._opener(self.settings)
            except Exception as exc:
                self._failed_at = now
                log.error("cannot open the state store and search index: %s", exc,
                          exc_info=not isinstance(exc, NewswatchError))
                raise Unavailable("state store or search index") from None
            self._failed_at = None
            return self._runtime

    @property
    def runtime(self) -> Runtime | None:
        return self._runtime

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._runtime is not None:
                self._runtime.close()
                self._runtime = None


@contextmanager
def using(component: str) -> Iterator[None]:
    """Report an outage of ``component`` ("state store", "search index") as a 503."""
    try:
        yield
    except (QuerySyntaxError, NotFoundError, InvalidRequestError, ProblemError):
        raise
    except NewswatchError as exc:
        log.error("the %s failed: %s", component, exc)
        raise Unavailable(component) from None
    except OUTAGES as exc:
        log.error("the %s failed: %s: %s", component, type(exc).__name__, exc)
        raise Unavailable(component) from None


def get_runtime(request: Request) -> Runtime:
    holder: RuntimeHolder = request.app.state.holder
    return holder.get()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# ---------------------------------------------------------------------------------------
# Authentication: header X-API-Key


api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, scheme_name="ApiKey",
    description="Required for write endpoints; for reads only when "
                "NEWSWATCH_API_READ_REQUIRES_KEY is true.",
)


def check_key(settings: Settings, given: str | None) -> None:
    if not settings.api_key:
        raise ProblemError(503, "API key not configured",
                           "this endpoint needs an API key, but the server has none "
                           "(set NEWSWATCH_API_KEY)", kind="key-not-configured")
    if not given:
        raise ProblemError(401, "Unauthorized", f"send the API key in the {API_KEY_HEADER} header",
                           kind="unauthorized",
                           headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})
    if not hmac.compare_digest(given.encode("utf-8"), settings.api_key.encode("utf-8")):
        raise ProblemError(403, "Forbidden", "the API key is not valid", kind="forbidden")


def require_key(
    settings: Annotated[Settings, Depends(get_settings)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> None:
    """Dependency of every write endpoint: the request must carry the API key."""
    check_key(settings, key)


def require_read_key(
    settings: Annotated[Settings, Depends(get_settings)],
    key: Annotated[str | None, Security(api_key_header)] = None,
) -> None:
    """Dependency of every read endpoint: the key is needed when api_read_requires_key."""
    if settings.api_read_requires_key:
        check_key(settings, key)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


# ---------------------------------------------------------------------------------------
# Query parameters: a misspelt one is an error, not silently ignored


_KNOWN: dict[int, frozenset[str]] = {}  # route -> the query parameters it takes


def known_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` declares (its dependencies' included)."""
    key = id(route)
    if key not in _KNOWN:
        _KNOWN[key] = frozenset(_query_aliases(route.dependant))
    return _KNOWN[key]


def _query_aliases(dependant: Any) -> set[str]:
    """The query parameters of a dependant and of all its dependencies (walked ourselves:
    fastapi's own helper for this changed name between releases)."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_aliases(sub)
    return names


def reject_unknown_parameters(request: Request) -> None:
    """Dependency of the API's routers: a query parameter the endpoint does not take is a
    400 ``unknown-parameter`` problem naming it and the closest known one (``limit=2`` to an
    endpoint that took ``size`` would otherwise return the default page, silently)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return  # pages for people (the printable story page) take what links add
    known = known_parameters(route)
    unknown = sorted(set(request.query_params) - known)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    takes = ", ".join(sorted(known)) or "none"
    extra: dict[str, Any] = {"unknown": unknown, "known": sorted(known)}
    raise ProblemError(400, "Unknown parameter",
                       f"unknown query parameter{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(hints)}; {request.url.path} takes: {takes}",
                       kind="unknown-parameter", **extra)


StrictParams = Depends(reject_unknown_parameters)
