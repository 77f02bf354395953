"""The Elasticsearch client's edge: its exceptions turned into one-line errors, and bulk
writes in chunks with 429s retried."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    Elasticsearch,
    TransportError,
    UnsupportedProductError,
)
from elasticsearch.helpers import streaming_bulk

from core.errors import NewswatchError

REQUEST_TIMEOUT = 30.0
BULK_CHUNK = 500


BULK_RETRIES = 5  # per chunk, for documents rejected with 429 …


BULK_BACKOFF = 1.0  # … after waiting 1 s, 2 s, 4 s, 8 s, 16 s


class ElasticClient:
    """What every Elasticsearch operation of ours goes through."""

    client: Elasticsearch
    url: str

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn client exceptions into one-line :class:`NewswatchError` messages."""
        try:
            yield
        except NewswatchError:
            raise
        except UnsupportedProductError:
            raise NewswatchError(f"the server at {self.url} is not Elasticsearch") from None
        except AuthenticationException:
            raise NewswatchError(
                f"Elasticsearch at {self.url} refused the credentials "
                "(NEWSWATCH_ES_USERNAME / NEWSWATCH_ES_PASSWORD)"
            ) from None
        except AuthorizationException as exc:
            raise NewswatchError(
                f"Elasticsearch at {self.url} denied the request: {api_reason(exc)}"
            ) from None
        except ApiError as exc:
            raise NewswatchError(
                f"Elasticsearch at {self.url} answered {exc.meta.status}: {api_reason(exc)}"
            ) from None
        except TransportError as exc:  # connection refused, DNS, TLS, timeouts
            raise NewswatchError(
                f"cannot reach Elasticsearch at {self.url}: {transport_reason(exc)}"
            ) from None

    def _bulk(self, actions: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Send actions in chunks (429s retried with back-off); returns (done, not found)."""
        done = missing = 0
        errors: list[dict[str, Any]] = []
        with self._errors():
            for ok, item in streaming_bulk(
                self.client,
                actions,
                chunk_size=BULK_CHUNK,
                max_retries=BULK_RETRIES,
                initial_backoff=BULK_BACKOFF,
                max_backoff=30,
                raise_on_error=False,
            ):
                op, info = next(iter(item.items()))
                if ok:
                    done += 1
                elif op == "delete" and info.get("status") == 404:
                    missing += 1
                else:
                    errors.append(info)
        if errors:
            first = errors[0]
            reason = (first.get("error") or {}).get("reason") or first.get("error") or first
            raise NewswatchError(
                f"Elasticsearch at {self.url} rejected {len(errors)} document(s); "
                f"the first ({first.get('_id')}): {reason}"
            )
        return done, missing


def error_type(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return str(error.get("type", "")) if isinstance(error, dict) else ""


def api_reason(exc: ApiError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        cause = causes[0] if isinstance(causes[0], dict) else error
        reason = f"{cause.get('type', '')}: {cause.get('reason', '')}".strip(": ")
    else:
        reason = str(error or exc.message)
    return " ".join(reason.split())[:300]


def transport_reason(exc: TransportError) -> str:
    text = str(exc)
    for pattern in (r"\[Errno -?\d+\] ([^)'\"\]]+)", r"(certificate verify failed[^)'\"]*)"):
        m = re.search(pattern, text)
        if m:
            return m.group(1).strip()
    if "timed out" in text.lower() or type(exc).__name__ == "ConnectionTimeout":
        return f"no answer within {REQUEST_TIMEOUT:.0f} s"
    return " ".join(text.split())[:200] or type(exc).__name__
