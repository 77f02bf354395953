"""Turn an :class:`AlertContent` into a multipart (text + HTML) email. Pure: no I/O but templates.

Titles, snippets, outlet names and URLs come from the web and are untrusted: the HTML part is
rendered with autoescaping, only http(s) URLs become links, and everything that goes into a
header is flattened to one line. The HTML has inline styles only: no scripts, no remote
images, fonts or style sheets, so it shows the same in every mail client and leaks nothing.
"""

from __future__ import annotations

import email.policy
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from alerts.content import AlertContent, AlertItem, DigestStory, MatchReason, digest_order
from enrich.languages import ENGLISH, NAMES

TEMPLATES = Path(__file__).parent / "templates"
SUBJECT_TITLE_CHARS = 150
UPDATE_HEADLINE_CHARS = 100  # so that what is new still shows in an inbox's subject column
SNIPPET_CHARS = 400
LIST_ITEMS = 5  # names per "new speakers: …" line
SENTENCES = 3  # new sentences quoted per article
MAIN_ENTITIES = 6

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACE = re.compile(r"\s+")
_DOMAIN_CHARS = re.compile(r"[^A-Za-z0-9.-]")
_FIGURE = re.compile(r"(\d+)(\.\d+)?(%?)")
_NUMBER_IN_TEXT = re.compile(r"(?<![\w.])\d[\d,.]*\d%?|(?<![\w.])\d%?")

# headers up to RFC 5322's 998 characters: a long one-click unsubscribe URL stays a plain
# <URL> (folded, the library would turn it into encoded words that clients cannot use)
_HEADERS = email.policy.default.clone(max_line_length=998)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class RenderedEmail:
    message: EmailMessage
    subject: str
    message_id: str
    text: str
    html: str


def render_alert(
    alert: AlertContent,
    unsubscribe_url: str,
    settings_public_url: str,
    *,
    now: datetime | None = None,
    message_id: str = "",
    in_reply_to: str = "",
    watch_links: Sequence[tuple[str, str]] = (),
) -> RenderedEmail:
    """The email for ``alert``. ``unsubscribe_url`` is the recipient's one-click link
    (``List-Unsubscribe``); ``watch_links`` the (watch name, unsubscribe link) of each watch
    the message is for, shown at its foot (default: ``unsubscribe_url`` for the one watch).

    ``message_id`` defaults to one derived from the idempotency key; ``in_reply_to`` (the
    Message-ID of the story's first message to this person) threads the message under it.
    The unsubscribe link is per recipient, so render one message per recipient.
    """
    _check_url(unsubscribe_url, "unsubscribe URL")
    _check_url(settings_public_url, "public URL")
    for _, link in watch_links:
        _check_url(link, "unsubscribe URL")
    base = settings_public_url.rstrip("/")
    subject = subject_for(alert)
    message_id = message_id or message_id_for(alert.idempotency_key, alert.mail_from)
    links = [(one_line(name, 200), url) for name, url in watch_links] or [
        (one_line(alert.watch_name, 200), unsubscribe_url)]
    single = None
    if alert.kind != "digest":
        single = DigestStory(
            alert.story_id, alert.story_title, alert.items, alert.outlets_count, alert.new_count,
            alert.topics, alert.entities, alert.outlets, alert.watch_reasons)
    context = {
        "kind": alert.kind,
        "watch_name": one_line(alert.watch_name, 200),
        "heading": subject,
        "preview": preview_for(alert),
        "story": _story_view(single, base, alert.kind) if single else None,
        "stories": [_story_view(s, base, "digest", _digest_since(alert))
                    for s in digest_order(alert.stories)],
        "reasons": [_reason_view(r) for r in alert.watch_reasons],
        "unsubscribe_url": unsubscribe_url,
        "watch_links": links,
        "public_url": base,
    }
    text = _env.get_template("alert.txt").render(context)
    html = _env.get_template("alert.html").render(context)

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = alert.mail_from
    msg["To"] = ", ".join(alert.recipients)
    msg["Date"] = format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True)
    msg["Message-ID"] = message_id
    if in_reply_to and in_reply_to != message_id:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.policy = _HEADERS  # the parts are encoded already (lines of at most 76)
    return RenderedEmail(msg, subject, message_id, text, html)


# -- headers -------------------------------------------------------------------------------


def subject_for(alert: AlertContent) -> str:
    """The news in one line: a new story's headline; for an update the new article's
    headline and what it adds; a digest's count and its newest story."""
    if alert.kind == "new-story":
        return f"New story: {one_line(alert.story_title, SUBJECT_TITLE_CHARS)}"
    if alert.kind == "follow-up":
        lead = next((i for i in alert.items if i.title.strip()), None)
        headline = one_line(lead.title if lead else alert.story_title, UPDATE_HEADLINE_CHARS)
        news = news_summary(alert.items)
        return f"Update: {headline} — {news}" if news else f"Update: {headline}"
    n = len(alert.stories)
    watch = one_line(alert.watch_name, 80)
    return f"Digest: {watch} — {n} {'story' if n == 1 else 'stories'} with new developments"


def news_summary(items: Sequence[AlertItem], parts: int = 2) -> str:
    """What ``items`` add, in a few words ("quotes Vasily Nebenzia, 3 new sentences")."""
    speakers = _gather(items, "new_speakers")
    entities = [e for e in _gather(items, "new_entities") if e not in speakers]
    figures = [format_figure(n) for n in sorted(_gather(items, "new_numbers"), key=_magnitude,
                                                 reverse=True)]
    outlets = _gather(items, "new_outlet")
    sentences = sum(int(i.additions.get("new_sentence_count") or
                        len(i.additions.get("new_sentences") or [])) for i in items)
    found = [
        f"quotes {_names(speakers, more='+')}" if speakers else "",
        f"new: {_names(entities, more='+')}" if entities else "",
        f"figures {_names(figures, more='+')}" if figures else "",
        f"{sentences} new sentence{'' if sentences == 1 else 's'}" if sentences else "",
        (f"{len(outlets)} new outlet{'' if len(outlets) == 1 else 's'}" if outlets else ""),
    ]
    return ", ".join([f for f in found if f][:parts])


def preview_for(alert: AlertContent) -> str:
    """The first line an inbox shows under the subject."""
    if alert.kind == "digest":
        titles = [one_line(s.story_title, 80) for s in digest_order(alert.stories)]
        return "; ".join(titles[:3])
    outlets = alert.outlets_count or len(alert.outlets)
    reasons = alert.watch_reasons
    watches = ", ".join(f"“{one_line(r.watch_name, 60)}”" for r in reasons)
    return f"{_plural(outlets, 'outlet')} so far · watch{'es' * (len(reasons) > 1)} {watches}"


def message_id_for(idempotency_key: str, mail_from: str) -> str:
    """A Message-ID that depends only on the key and the sender's domain (stable on retry)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{_domain(mail_from)}>"


def thread_root_id(story_id: str, recipient: str, mail_from: str) -> str:
    """The thread a reader's messages about one story hang under when their first message
    is not known (a followed story): the same for every message of that (reader, story)."""
    local = re.sub(r"[^A-Za-z0-9_-]", "", story_id)[:64] or "story"
    who = hashlib.sha256(recipient.strip().casefold().encode()).hexdigest()[:12]
    return f"<story-{local}.{who}@{_domain(mail_from)}>"


def _domain(mail_from: str) -> str:
    domain = _DOMAIN_CHARS.sub("", parseaddr(mail_from)[1].rpartition("@")[2]).strip(".")
    return domain or "newswatch.invalid"


# -- words ---------------------------------------------------------------------------------


def counts(outlets: int, new: int, since: str = "") -> str:
    """"5 outlets, 2 new" (plus ``since``, e.g. "since your last digest")."""
    text = f"{outlets} outlet{'' if outlets == 1 else 's'}, {new} new"
    return f"{text} {since}" if since else text


def describe_additions(additions: dict[str, Any]) -> list[str]:
    """What an article added to its story, one short line per kind of addition."""
    if additions.get("new_story"):
        return ["first article of the story"]
    if additions.get("near_duplicate"):
        return ["nothing new (near-duplicate of an earlier article)"]
    lines = []
    if additions.get("new_outlet"):
        lines.append(f"new outlet: {one_line(str(additions['new_outlet']), 100)}")
    for key, label in (
        ("new_speakers", "new speakers"),
        ("new_entities", "new entities"),
        ("new_numbers", "new figures"),
    ):
        values = [one_line(str(v), 80) for v in additions.get(key) or []]
        if key == "new_numbers":
            values = [format_figure(v) for v in values]
        if values:
            more = len(values) - LIST_ITEMS
            tail = f" and {more} more" if more > 0 else ""
            lines.append(f"{label}: {', '.join(values[:LIST_ITEMS])}{tail}")
    sentences = additions.get("new_sentence_count") or len(additions.get("new_sentences") or [])
    if sentences:
        lines.append(f"{sentences} new sentence{'' if sentences == 1 else 's'}")
    return lines


def format_figure(value: str) -> str:
    """A figure as people read it: 300000 → 300,000, 1250000.5 → 1,250,000.5, 12% as is.
    Four-digit numbers that look like years (1800–2199) and codes with a leading zero are
    left alone."""
    text = value.strip()
    m = _FIGURE.fullmatch(text.replace(",", ""))
    if m is None:
        return text
    whole, fraction, percent = m.groups()
    if (whole.startswith("0") and len(whole) > 1) or (
            len(whole) == 4 and 1800 <= int(whole) <= 2199 and not fraction and not percent):
        return text
    return f"{int(whole):,}{fraction or ''}{percent}"


def one_line(text: str, limit: int) -> str:
    """``text`` without control characters or line breaks, cut to ``limit`` characters."""
    flat = _SPACE.sub(" ", _CONTROL.sub(" ", text or "")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def safe_href(url: str) -> str:
    """``url`` when it is an absolute http(s) URL fit for a link; "" otherwise."""
    url = (url or "").strip()
    if _CONTROL.search(url) or " " in url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def story_page_url(base: str, story_id: str) -> str:
    """The story's page in the web app (``GET /web/stories/{id}``: its timeline, what each
    article added, why each joined), where email and notification links lead."""
    return f"{base.rstrip('/')}/web/stories/{quote(story_id, safe='')}"


def describe_reason(reason: MatchReason) -> list[str]:
    """What a watch asks for, as short phrases ("query “shells OR munitions”"); for an
    article it did not match itself, why it came (it develops, or was split off, a story
    the watch alerted about) with what the watch asks for."""
    found = []
    if reason.follows_story:
        found.append("you follow this story")
    if reason.query:
        found.append(f"query “{one_line(reason.query, 120)}”")
    if reason.topic:
        found.append(f"topic {one_line(reason.topic, 60)}")
    if reason.entities:
        found.append(f"about {_names([one_line(e, 60) for e in reason.entities], 4)}")
    if reason.source:
        found.append(f"from {one_line(reason.source, 60)}")
    if reason.language:
        found.append(f"in language {one_line(reason.language, 10)}")
    asks = f" (the watch asks for {', '.join(found)})" if found else ""
    if reason.via == "following":  # the article alone does not match: say why it came
        return [f"follows a story you were alerted about, which this article develops{asks}"]
    if reason.via == "split":
        return [f"a story split off one you were alerted about{asks}"]
    return found


# -- views for the templates ---------------------------------------------------------------


def _reason_view(reason: MatchReason) -> dict[str, Any]:
    name, criteria = one_line(reason.watch_name, 200), describe_reason(reason)
    return {"name": name, "criteria": criteria,
            "line": f"your watch \"{name}\"" + (f": {', '.join(criteria)}" if criteria else "")}


def _digest_since(alert: AlertContent) -> str:
    """What a digest's "N new" counts from: the last digest, or (a new watch looking back
    over what was already indexed) the days it asked for."""
    if alert.idempotency_key.endswith(":backfill"):
        return "in the days this new watch looked back over"
    return "since your last digest"


def _story_view(story: DigestStory, base: str, kind: str,
                since: str = "since your last digest") -> dict[str, Any]:
    items = [_item_view(i, kind) for i in story.items]
    outlets = [one_line(o, 80) for o in story.outlets]
    shown = {i.source for i in story.items}
    n_outlets = story.outlets_count or len(outlets)
    return {
        "title": one_line(story.story_title, 300) or "(untitled story)",
        "url": story_page_url(base, story.story_id),
        "counts": counts(story.outlets_count, story.new_count, since)
        if kind == "digest" else "",
        "coverage": _coverage(n_outlets, outlets, shown) if outlets or kind != "digest" else "",
        "more": _more_note(kind, story.new_count, len(items)),
        "topics": [one_line(label or tag, 80) for tag, label in story.topics],
        "entities": [one_line(e, 80) for e in story.entities[:MAIN_ENTITIES]],
        "reasons": [] if kind == "digest" else [_reason_view(r) for r in story.reasons],
        "matched": [f"“{one_line(r.watch_name, 80)}”" for r in story.reasons]
        if kind == "digest" and len(story.reasons) > 1 else [],
        "articles": items,
    }


def _coverage(n_outlets: int, outlets: list[str], shown: set[str]) -> str:
    """"Covered by 5 outlets so far: Ledger (below), Global Wire, …"."""
    if not outlets:
        return f"Covered by {_plural(n_outlets, 'outlet')} so far." if n_outlets else ""
    total = max(n_outlets, len(outlets))
    named = [f"{o} (below)" if o in shown else o for o in outlets[:8]]
    tail = f" and {total - len(named)} more" if total > len(named) else ""
    return f"Covered by {_plural(total, 'outlet')} so far: {', '.join(named)}{tail}."


def _more_note(kind: str, new: int, shown: int) -> str:
    """Says what the articles not shown are, so "3 new" above one article is no riddle."""
    if kind == "digest" or new <= shown:
        return ""
    others = new - shown
    if kind == "new-story":
        rest = "the other is" if others == 1 else f"the other {others} are"
        return (f"The story had {_plural(new, 'article')} when it first matched; {rest} on "
                "the story page.")
    rest = ("the other adds little or has its" if others == 1
            else f"the other {others} add little or have their")
    return (f"{_plural(new, 'article')} since your last alert: this one brings the news, "
            f"{rest} own alert.")


def _item_view(item: AlertItem, kind: str) -> dict[str, Any]:
    additions = item.additions or {}
    show_changes = kind != "new-story"
    marks = [*(additions.get("new_speakers") or []), *(additions.get("new_entities") or [])]
    figures = {str(n).replace(",", "") for n in additions.get("new_numbers") or []}
    sentences = [one_line(str(s), 300) for s in (additions.get("new_sentences") or [])[:SENTENCES]]
    return {
        "title": one_line(item.title, 300) or "(untitled)",
        "href": safe_href(item.url),
        "source": one_line(item.source, 100),
        "when": _when(item.published),
        "byline": ", ".join(p for p in (one_line(item.source, 100), _when(item.published)) if p),
        "snippet": one_line(item.snippet, SNIPPET_CHARS),
        "changes": describe_additions(additions) if show_changes else [],
        "sentences": sentences if show_changes else [],
        "marked": [highlight(s, marks, figures) for s in sentences] if show_changes else [],
        # not English: the language by name and the title as written, then in English
        # what the article is about
        "language_line": (f"{NAMES.get(item.language, one_line(item.language, 10))} · original "
                          f"title: {one_line(item.title, 300)}"
                          if item.language and item.language != ENGLISH else ""),
        "about": one_line(item.about, 300),
    }


def highlight(sentence: str, names: Iterable[str], figures: set[str]) -> list[tuple[str, bool]]:
    """``sentence`` cut into (text, is it new) pieces: the new names and figures stand out."""
    terms = sorted({str(n) for n in names if len(str(n)) >= 3}, key=len, reverse=True)
    alternatives = [re.escape(t) for t in terms] + [_NUMBER_IN_TEXT.pattern]
    pieces: list[tuple[str, bool]] = []
    at = 0
    for m in re.finditer("|".join(alternatives), sentence):
        token = m.group(0)
        new = token in terms or token.replace(",", "") in figures
        if not new or m.start() < at:
            continue
        if m.start() > at:
            pieces.append((sentence[at:m.start()], False))
        pieces.append((token, True))
        at = m.end()
    if at < len(sentence):
        pieces.append((sentence[at:], False))
    return pieces


def _gather(items: Sequence[AlertItem], key: str) -> list[str]:
    found: list[str] = []
    for item in items:
        value = item.additions.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        found += [one_line(str(v), 60) for v in values]
    return list(dict.fromkeys(found))


def _names(values: Sequence[str], limit: int = 2, more: str = "") -> str:
    """The first ``limit`` values, then " and 3 more" (or " +3" with ``more="+"``)."""
    rest = len(values) - limit
    tail = (f" +{rest}" if more == "+" else f" and {rest} more") if rest > 0 else ""
    return ", ".join(values[:limit]) + tail


def _magnitude(figure: str) -> float:
    try:
        return float(figure.replace(",", "").rstrip("%"))
    except ValueError:
        return 0.0


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _check_url(url: str, what: str) -> None:
    if not safe_href(url):
        raise ValueError(f"the {what} must be an absolute http(s) URL: {url!r}")
