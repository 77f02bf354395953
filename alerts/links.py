"""Signed links: the secret that signs them (created once, kept in the data directory), the
unsubscribe link of each email and the Atom feed of each watch."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import quote

from alerts.atom import FeedAlert, render_atom
from alerts.content import content_from_json
from alerts.store import WatchStore
from alerts.tokens import sign_feed, sign_unsubscribe, verify_unsubscribe
from core.errors import InvalidRequestError, NewswatchError, NotFoundError
from core.models import Watch
from core.runtime import Runtime
from core.settings import Settings

KEY_FILE = "secret.key"
_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def secret_for(settings: Settings) -> str:
    """The HMAC key of unsubscribe and feed links: the setting, else a random key kept in
    the data directory (created once, atomically, readable by its owner only)."""
    if settings.unsubscribe_secret:
        return settings.unsubscribe_secret
    path = Path(settings.home) / KEY_FILE
    found = _read_key(path)
    if found is not None:
        return found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_key(path, secrets.token_urlsafe(32))
    except FileExistsError:
        pass  # another process was first: its key, complete, is the one
    except OSError as exc:
        raise NewswatchError(
            f"cannot create the signing key {path}: {exc.strerror or exc} "
            "(is the disk full?); free some space or set NEWSWATCH_UNSUBSCRIBE_SECRET"
        ) from None
    found = _read_key(path)
    if found is None:
        raise NewswatchError(f"the signing key {path} vanished while it was being created")
    return found


def _read_key(path: Path) -> str | None:
    """The key in ``path``; ``None`` when there is none; an error when it is damaged."""
    try:
        value = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NewswatchError(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
    if len(value) < 32 or not set(value) <= _KEY_CHARS:
        raise NewswatchError(
            f"the signing key {path} is empty or damaged; delete it to have a new one made "
            "(links signed with the old key stop working) or set NEWSWATCH_UNSUBSCRIBE_SECRET"
        )
    return value


def _create_key(path: Path, value: str) -> None:
    """Write ``value`` to a temporary file, fsync it, then link it into place: the key file
    appears complete or not at all, and the first of several racing processes wins."""
    fd, tmp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)  # mode 0600
    try:
        data = value.encode("ascii")
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.link(tmp, path)  # FileExistsError when another process linked its key first
        with contextlib.suppress(OSError):  # the directory entry itself, on a crash
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


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
