"""Signed links: the secret that signs them (created once, kept in the data directory), the
unsubscribe link of each email and the Atom feed of each watch."""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import quote

from alerts.atom import FeedAlert, render_atom
from alerts.content import content_from_json
from alerts.store import WatchStore
from alerts.tokens import sign_feed, sign_unsubscribe, verify_unsubscribe
from core.errors import InvalidRequestError, NotFoundError
from core.models import Watch
from core.runtime import Runtime
from core.settings import Settings


def secret_for(settings: Settings) -> str:
    """The HMAC key of unsubscribe and feed links: the setting, else a random key kept in
    the data directory (created once, readable by its owner only)."""
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret
    path = Path(settings.home) / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        with path.open("x") as f:  # two processes racing: the first one's key wins
            path.chmod(0o600)
            f.write(value)
    except FileExistsError:
        return path.read_text().strip()
    return value


def unsubscribe_url(settings: Settings, watch_id: str, email: str, secret: str = "") -> str:
    token = sign_unsubscribe(watch_id, email, secret or secret_for(settings))
    return f"{settings.resolved_public_url}/unsubscribe?token={quote(token)}"


def feed_url(settings: Settings, watch_id: str) -> str:
    token = sign_feed(watch_id, secret_for(settings))
    return f"{settings.resolved_public_url}/watches/{watch_id}/feed?token={token}"


def unsubscribe(rt: Runtime, token: str) -> tuple[Watch, str]:
    """Take the token's address off the token's watch; idempotent."""
    found = verify_unsubscribe(token, secret_for(rt.settings))
    if found is None:
        raise InvalidRequestError("this unsubscribe link is not valid")
    watch_id, email = found
    watch = WatchStore(rt.store).get(watch_id)
    if watch is None:
        raise NotFoundError("this watch no longer exists; you will get no more email from it")
    WatchStore(rt.store).remove_recipient(watch_id, email)
    return watch, email


def watch_feed(rt: Runtime, watch: Watch, limit: int = 50) -> bytes:
    rows = WatchStore(rt.store).recent_alerts(watch.id, limit)
    alerts = [FeedAlert(r.key, r.created_at, content_from_json(r.content)) for r in rows]
    return render_atom(watch.id, watch.name, alerts, feed_url(rt.settings, watch.id),
                       rt.settings.resolved_public_url, updated=watch.created_at)
