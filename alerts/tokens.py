"""Signed one-click unsubscribe tokens: ``payload.signature``, both URL-safe base64.

The payload names the watch and the email address; the signature is HMAC-SHA256 over it
with the server's secret. Tokens do not expire: an unsubscribe link in an old email must
keep working (RFC 8058). Rotating the secret invalidates every outstanding link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

_DOMAIN = b"newswatch-unsubscribe-v1:"  # keeps these signatures apart from any other HMAC use
_FEED_DOMAIN = b"newswatch-feed-v1:"


def sign_unsubscribe(watch_id: str, email: str, secret: str) -> str:
    """A token that proves ``email`` may unsubscribe from watch ``watch_id``."""
    _check_secret(secret)
    payload = _b64encode(json.dumps([watch_id, email], separators=(",", ":")).encode())
    return f"{payload}.{_b64encode(_mac(payload, secret))}"


def verify_unsubscribe(token: str, secret: str) -> tuple[str, str] | None:
    """``(watch_id, email)`` when ``token`` was signed with ``secret``; None otherwise."""
    _check_secret(secret)
    if not isinstance(token, str) or not token.isascii() or token.count(".") != 1:
        return None
    if len(token) > 4096:
        return None
    payload, signature = token.split(".")
    try:
        given = _b64decode(signature)
    except ValueError:
        return None
    if not hmac.compare_digest(given, _mac(payload, secret)):
        return None
    try:
        value = json.loads(_b64decode(payload))
    except ValueError:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, str) for v in value)
    ):
        return None
    return value[0], value[1]


def sign_feed(watch_id: str, secret: str) -> str:
    """A token that lets a feed reader fetch watch ``watch_id``'s Atom feed without the API
    key (feed readers cannot send headers). It grants nothing else."""
    _check_secret(secret)
    mac = hmac.new(secret.encode(), _FEED_DOMAIN + watch_id.encode(), hashlib.sha256).digest()
    return _b64encode(mac[:18])


def verify_feed(token: str, watch_id: str, secret: str) -> bool:
    if not isinstance(token, str) or not token.isascii() or len(token) > 64:
        return False
    return hmac.compare_digest(token, sign_feed(watch_id, secret))


def _check_secret(secret: str) -> None:
    if not secret:
        raise ValueError("an unsubscribe secret is required to sign or verify tokens")


def _mac(payload: str, secret: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc
