"""Alert channels besides email: a signed JSON webhook for ``http(s)://`` destinations and
Apprise (``apprise.Apprise``) for every other URL scheme (``ntfy://``, ``tgram://``,
``json://``, …).

A watch's destinations are outbox rows of their own (``channel`` and the URL as
``recipient``), sent by ``alerts.delivery`` with the outbox's retries. A webhook is a POST of
the alert as JSON with ``Idempotency-Key: <outbox key>`` and ``X-Newswatch-Signature:
sha256=<hex HMAC-SHA256 of the exact body, keyed with the watch's secret>``; 2xx is
delivered, 5xx, 429, timeouts and refused connections are retried, any other answer fails
the row. It goes through the fetcher's SSRF guard (``ingest.fetch.GuardedBackend``): loopback
and private addresses are refused unless ``allowed_private_networks`` lists them, checked
where the socket is opened. Destination URLs carry secrets (tokens in paths, passwords):
errors and logs show them only through ``core.models.redact_destination``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from typing import Any, Protocol

import httpx

from alerts.content import AlertContent, AlertItem, DigestStory, reason_dict
from alerts.render import (
    describe_additions,
    describe_reason,
    news_summary,
    one_line,
    safe_href,
    story_page_url,
    subject_for,
)
from core.errors import NewswatchError
from core.models import redact_destination
from core.settings import Settings
from ingest.fetch import (
    GuardedBackend,
    RefusedAddress,
    Resolver,
    address_allowed,
    guarded_transport,
    system_resolver,
)
from ingest.urls import url_problem

EMAIL, WEBHOOK, APPRISE = "email", "webhook", "apprise"
SIGNATURE_HEADER = "X-Newswatch-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
CONNECT_TIMEOUT = 5.0  # at most; less when the settings say so
READ_TIMEOUT = 10.0
RETRY_STATUSES = frozenset({429})  # besides every 5xx; any other 4xx is final
BODY_ITEMS = 3  # articles named in an Apprise notification


class ChannelError(NewswatchError):
    """A destination did not take an alert. ``transient``: a later attempt may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def channel_of(destination: str) -> str:
    """``webhook`` for http(s) URLs, ``apprise`` for any other scheme."""
    scheme = destination.strip().partition("://")[0].lower()
    return WEBHOOK if scheme in ("http", "https") else APPRISE


def destination_key(alert_key: str, destination: str) -> str:
    """The outbox key of an alert sent to a destination: the alert key, the channel and a
    digest of the URL (which may be long and holds secrets)."""
    digest = hashlib.sha256(destination.strip().encode()).hexdigest()[:20]
    return f"{alert_key}:{channel_of(destination)}:{digest}"


def sign(body: bytes, secret: str) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- what a webhook receives -----------------------------------------------------------------


def alert_payload(alert: AlertContent, key: str, public_url: str) -> dict[str, Any]:
    """The alert as a webhook's JSON document (no recipients' addresses in it)."""
    data: dict[str, Any] = {
        "event": "newswatch.alert", "kind": alert.kind, "idempotency_key": key,
        "subject": subject_for(alert),
        "watches": [reason_dict(r) for r in alert.watch_reasons],
    }
    if alert.kind == "digest":
        data["stories"] = [
            {**_story_dict(s, public_url), "articles": [_article_dict(i) for i in s.items]}
            for s in alert.stories
        ]
    else:
        story = DigestStory(alert.story_id, alert.story_title, alert.items, alert.outlets_count,
                            alert.new_count, alert.topics, alert.entities, alert.outlets)
        data["story"] = _story_dict(story, public_url)
        data["articles"] = [_article_dict(i) for i in alert.items]
    return data


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact UTF-8 JSON, keys sorted."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str).encode("utf-8")


def _story_dict(story: DigestStory, public_url: str) -> dict[str, Any]:
    return {
        "id": story.story_id, "title": story.story_title,
        "url": story_page_url(public_url, story.story_id),
        "topics": [{"tag": tag, "label": label} for tag, label in story.topics],
        "entities": list(story.entities), "outlets": list(story.outlets),
        "outlets_count": story.outlets_count, "new_count": story.new_count,
    }


def _article_dict(item: AlertItem) -> dict[str, Any]:
    return {
        "id": item.article_id, "title": item.title, "url": item.url, "source": item.source,
        "published": item.published.isoformat() if item.published else None,
        "snippet": item.snippet, "novelty": item.novelty, "additions": item.additions,
    }


# -- what an Apprise service shows ------------------------------------------------------------


def notification_text(alert: AlertContent, public_url: str) -> str:
    """A short plain-text body for chat and push services: why, what is new, links."""
    lines: list[str] = []
    for reason in alert.watch_reasons:
        criteria = describe_reason(reason)
        lines.append(f"Watch “{one_line(reason.watch_name, 80)}”"
                     + (f": {', '.join(criteria)}" if criteria else ""))
    stories = list(alert.stories) if alert.kind == "digest" else [DigestStory(
        alert.story_id, alert.story_title, alert.items, alert.outlets_count, alert.new_count,
        alert.topics, alert.entities, alert.outlets)]
    for story in stories:
        lines += ["", one_line(story.story_title, 200) or "(untitled story)"]
        if alert.kind != "new-story" and (news := news_summary(story.items, parts=3)):
            lines.append(f"New: {news}")
        for item in story.items[:BODY_ITEMS]:
            source = f" ({one_line(item.source, 60)})" if item.source else ""
            lines.append(f"- {one_line(item.title, 160)}{source}")
            if alert.kind != "new-story":
                lines += [f"  {line}" for line in describe_additions(item.additions)[:2]]
            if href := safe_href(item.url):
                lines.append(f"  {href}")
        count = story.outlets_count or len(story.outlets)
        if count:
            lines.append(f"{count} outlet{'' if count == 1 else 's'} so far")
        lines.append(f"Story: {story_page_url(public_url, story.story_id)}")
    return "\n".join(lines).strip()


# -- senders ----------------------------------------------------------------------------------


class Channel(Protocol):
    """Delivers an alert to one destination URL or raises :class:`ChannelError`."""

    def send(self, destination: str, alert: AlertContent, key: str, secret: str) -> None: ...

    def close(self) -> None: ...


class WebhookChannel:
    """POST the alert's JSON, signed, through the SSRF guard; no redirects followed."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None,
                 resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=0)
        timeout = httpx.Timeout(min(settings.read_timeout, READ_TIMEOUT),
                                connect=min(settings.connect_timeout, CONNECT_TIMEOUT))
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, limits=limits,
            headers={"User-Agent": settings.resolved_user_agent},
            transport=transport or guarded_transport(
                GuardedBackend(settings.allowed_private_networks, resolver), limits),
        )

    def close(self) -> None:
        self._client.close()

    def send(self, destination: str, alert: AlertContent, key: str, secret: str) -> None:
        shown = redact_destination(destination)
        problem = url_problem(destination)
        if problem:
            raise ChannelError(f"webhook {shown}: {problem}", transient=False)
        if not secret:
            raise ChannelError(f"webhook {shown}: the watch has no signing secret",
                               transient=False)
        body = payload_bytes(alert_payload(alert, key, self.settings.resolved_public_url))
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: key,
                   SIGNATURE_HEADER: sign(body, secret)}
        try:
            with self._client.stream("POST", destination, content=body,
                                     headers=headers) as response:
                status, reason = response.status_code, response.reason_phrase or ""
        except RefusedAddress as exc:
            raise ChannelError(f"webhook {shown}: refused, it resolves to the non-public "
                               f"address {exc.ip} (allow it with NEWSWATCH_ALLOWED_PRIVATE_"
                               "NETWORKS)", transient=False) from None
        except httpx.TimeoutException:
            raise ChannelError(f"webhook {shown}: timed out", transient=True) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError):
            raise ChannelError(f"webhook {shown}: invalid URL", transient=False) from None
        except httpx.TransportError as exc:
            raise ChannelError(f"webhook {shown}: cannot connect ({type(exc).__name__})",
                               transient=True) from None
        if 200 <= status < 300:
            return
        answer = f"webhook {shown} answered {status} {one_line(reason, 60)}".rstrip()
        if status >= 500 or status in RETRY_STATUSES:
            raise ChannelError(answer, transient=True)
        raise ChannelError(answer + (" (redirects are not followed)" if 300 <= status < 400
                                     else ""), transient=False)


class AppriseChannel:
    """Hand the alert to Apprise (``apprise.Apprise().add(url)``, ``notify``): a title (the
    email's subject) and a short text body. Apprise keeps nothing on disk here."""

    def __init__(self, settings: Settings, resolver: Resolver = system_resolver) -> None:
        import apprise  # loads its plugins; only passes that have such destinations pay

        self.settings = settings
        self._apprise = apprise
        self._asset = apprise.AppriseAsset(storage_mode="memory")
        self._resolver = resolver

    def close(self) -> None:
        pass

    def send(self, destination: str, alert: AlertContent, key: str, secret: str) -> None:
        shown = redact_destination(destination)
        service = self._apprise.Apprise.instantiate(destination, asset=self._asset)
        if service is None:
            raise ChannelError(f"Apprise cannot use the destination {shown}", transient=False)
        self._check_host(str(getattr(service, "host", "") or ""), shown)
        notifier = self._apprise.Apprise(asset=self._asset)
        notifier.add(service)
        done = notifier.notify(body=notification_text(alert, self.settings.resolved_public_url),
                               title=subject_for(alert))
        if not done:
            raise ChannelError(f"Apprise could not deliver to {shown}", transient=True)

    def _check_host(self, host: str, shown: str) -> None:
        """Refuse a service whose host is, or resolves to, a non-public address that is not
        allowed. Hosts that are no network names (tokens of hosted services) pass."""
        host = host.strip("[]")
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if host != "localhost" and not host.endswith(".localhost") and "." not in host:
                return
            try:
                addresses = list(self._resolver(host, 443))
            except (OSError, UnicodeError):
                return  # Apprise meets the same failure and the row is retried
        for ip in addresses:
            if not address_allowed(ip, self.settings.allowed_private_networks):
                raise ChannelError(f"Apprise destination {shown}: refused, it resolves to the "
                                   f"non-public address {ip}", transient=False)


class Channels:
    """The channels of one sending pass, each built when first needed; ``close`` after."""

    def __init__(self, settings: Settings, **built: Channel) -> None:
        self.settings = settings
        self._built: dict[str, Channel] = dict(built)

    def send(self, channel: str, destination: str, alert: AlertContent, key: str,
             secret: str) -> None:
        self._get(channel).send(destination, alert, key, secret)

    def _get(self, channel: str) -> Channel:
        if channel not in self._built:
            if channel == WEBHOOK:
                self._built[channel] = WebhookChannel(self.settings)
            elif channel == APPRISE:
                self._built[channel] = AppriseChannel(self.settings)
            else:
                raise ChannelError(f"unknown channel {channel!r}", transient=False)
        return self._built[channel]

    def close(self) -> None:
        for channel in self._built.values():
            channel.close()
        self._built.clear()

