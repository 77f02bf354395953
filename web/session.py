"""Signed tokens of the web app: the session cookie a login with the API key gives, the
CSRF token of every form, and the token of the login form itself. Pure functions of a key
and the time; the key comes from :func:`session_key`.

* A **session** is ``payload.signature``: the payload (URL-safe base64 JSON) holds a random
  session id and the time it ends; the signature is HMAC-SHA256 over it. Nothing is stored
  on the server, so signing out clears the cookie, and changing the API key (or the signing
  secret) ends every session at once.
* A form's **CSRF token** is an HMAC of the session id: a page of another site can neither
  read it (same-origin policy) nor compute it (it lacks the key).
* The **login form** carries a token with the time it was made, valid for
  :data:`LOGIN_FORM_SECONDS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

SESSION_SECONDS = 12 * 3600  # a login lasts a working day
LOGIN_FORM_SECONDS = 3600
MAX_TOKEN_CHARS = 512
_SESSION = b"newswatch-web-session-v1:"
_CSRF = b"newswatch-web-csrf-v1:"
_LOGIN = b"newswatch-web-login-v1:"
_KEY = b"newswatch-web-key-v1:"


@dataclass(frozen=True)
class Session:
    sid: str
    expires: int  # Unix time


def session_key(secret: str, api_key: str) -> bytes:
    """The key that signs sessions and forms: the server's link-signing secret bound to
    the API key, so a new API key signs everyone out."""
    if not secret or not api_key:
        raise ValueError("a secret and an API key are needed to sign web sessions")
    return hmac.new(secret.encode(), _KEY + api_key.encode(), hashlib.sha256).digest()


def new_session(key: bytes, now: float, seconds: int = SESSION_SECONDS) -> tuple[Session, str]:
    """A fresh session and its cookie value."""
    session = Session(secrets.token_urlsafe(18), int(now) + seconds)
    payload = _b64encode(json.dumps([session.sid, session.expires],
                                    separators=(",", ":")).encode())
    return session, f"{payload}.{_b64encode(_mac(key, _SESSION, payload))}"


def read_session(key: bytes, value: str | None, now: float) -> Session | None:
    """The session a cookie value proves; ``None`` when it is missing, forged or over."""
    payload = _verified(key, _SESSION, value)
    if payload is None:
        return None
    try:
        data = json.loads(_b64decode(payload))
    except ValueError:
        return None
    if (not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], str)
            or not isinstance(data[1], int) or isinstance(data[1], bool)):
        return None
    if data[1] <= now:
        return None
    return Session(data[0], data[1])


def csrf_token(key: bytes, session: Session) -> str:
    """The token every form of this session carries."""
    return _b64encode(_mac(key, _CSRF, session.sid))[:32]


def check_csrf(key: bytes, session: Session, given: str | None) -> bool:
    if not isinstance(given, str) or not given.isascii() or len(given) > MAX_TOKEN_CHARS:
        return False
    return hmac.compare_digest(given, csrf_token(key, session))


def login_token(key: bytes, now: float) -> str:
    """The token of a login form made at ``now``."""
    stamp = str(int(now))
    return f"{stamp}.{_b64encode(_mac(key, _LOGIN, stamp))}"


def check_login_token(key: bytes, given: str | None, now: float) -> bool:
    stamp = _verified(key, _LOGIN, given)
    if stamp is None or not stamp.isdigit():
        return False
    return 0 <= now - int(stamp) <= LOGIN_FORM_SECONDS


def _verified(key: bytes, domain: bytes, value: str | None) -> str | None:
    """The payload of ``payload.signature`` when the signature is right."""
    if (not isinstance(value, str) or not value.isascii() or len(value) > MAX_TOKEN_CHARS
            or value.count(".") != 1):
        return None
    payload, signature = value.split(".")
    try:
        given = _b64decode(signature)
    except ValueError:
        return None
    return payload if hmac.compare_digest(given, _mac(key, domain, payload)) else None


def _mac(key: bytes, domain: bytes, payload: str) -> bytes:
    return hmac.new(key, domain + payload.encode("ascii"), hashlib.sha256).digest()


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64") from exc
