"""The web app's pure pieces: signed tokens, escaping filters, links, chart geometry and
the folding of near-duplicates."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from web import charts
from web import session as tokens
from web.access import safe_next
from web.render import highlight, marks, url_with
from web.story import timeline

KEY = tokens.session_key("s" * 43, "the-api-key")
NOW = 1_800_000_000.0


def test_a_session_is_signed_and_ends() -> None:
    session, value = tokens.new_session(KEY, NOW)
    assert tokens.read_session(KEY, value, NOW + 60) == session
    assert tokens.read_session(KEY, value, NOW + tokens.SESSION_SECONDS + 1) is None
    other = tokens.session_key("s" * 43, "a-new-api-key")  # a new API key signs everyone out
    assert tokens.read_session(other, value, NOW) is None
    payload, signature = value.split(".")
    assert tokens.read_session(KEY, f"{payload}x.{signature}", NOW) is None
    for junk in (None, "", ".", "a.b.c", "é.é", "x" * 1000, f"{payload}.{'A' * 43}"):
        assert tokens.read_session(KEY, junk, NOW) is None


def test_csrf_and_login_tokens() -> None:
    session, _value = tokens.new_session(KEY, NOW)
    other, _ = tokens.new_session(KEY, NOW)
    token = tokens.csrf_token(KEY, session)
    assert tokens.check_csrf(KEY, session, token)
    assert not tokens.check_csrf(KEY, other, token)
    assert not tokens.check_csrf(KEY, session, None) and not tokens.check_csrf(KEY, session, "")
    login = tokens.login_token(KEY, NOW)
    assert tokens.check_login_token(KEY, login, NOW + 10)
    assert not tokens.check_login_token(KEY, login, NOW + tokens.LOGIN_FORM_SECONDS + 1)
    assert not tokens.check_login_token(KEY, login.replace(".", "1."), NOW)


def test_after_login_only_our_pages() -> None:
    assert safe_next("/web/stories/s1?x=1") == "/web/stories/s1?x=1"
    for elsewhere in ("https://evil.example/web", "//evil.example/web", "/webx\\..", "/docs",
                      "/web\x00", "", None):
        assert safe_next(elsewhere) == "/web/"


def test_marks_escape_first() -> None:
    assert str(marks("a **b** <script>x</script> **c")) == (
        "a <mark>b</mark> &lt;script&gt;x&lt;/script&gt; **c")
    text = 'He said <b>no</b>. The port is "closed".\nSecond paragraph.'
    marked = str(highlight(text, ['The port is  "closed".', "not there"]))
    assert marked == ('<p>He said &lt;b&gt;no&lt;/b&gt;. <mark class="new">The port is '
                      '&#34;closed&#34;.</mark></p>\n<p>Second paragraph.</p>')


def test_links_keep_filters_and_drop_the_page() -> None:
    params = {"q": "a b", "topic": "x", "page": "3"}
    assert url_with("/web/search", params, page=4) == "/web/search?q=a+b&topic=x&page=4"
    assert url_with("/web/search", params, topic=None) == "/web/search?q=a+b"
    assert url_with("/web/search", {}) == "/web/search"


def test_timeline_bars() -> None:
    times = [datetime(2026, 11, d, 12, tzinfo=UTC) for d in (10, 10, 10, 12)]
    chart = charts.timeline(times)
    assert [b.value for b in chart.bars] == [3, 0, 1]
    assert chart.bars[0].height > chart.bars[2].height > 0 and chart.bars[1].height == 0
    assert "4 articles from 10 Nov 2026 to 12 Nov 2026" in chart.label
    days = [date(2026, 1, 1) + (date(2026, 1, 2) - date(2026, 1, 1)) * i for i in range(200)]
    assert len(charts.per_day(Counter({days[0]: 1}), days).bars) <= charts.MAX_BUCKETS
    assert charts.timeline([]).bars == ()


def test_pushes_and_meters() -> None:
    bars, reach = charts.pushes([["text", 3.0], ["lede", -1.5], ["bad", float("nan")]],
                                {"text": 0.64}, {"text": "same words"})
    assert reach == 3.0 and [b.label for b in bars] == ["same words", "lede"]
    assert bars[0].x == 50 and bars[0].width == 50 and bars[1].x + bars[1].width == 50
    assert bars[0].value == "0.64"
    m = charts.meter(0.7, 0.4)
    assert (m.fill, m.at) == (70.0, 40.0) and charts.meter(7).fill == 100


def test_near_duplicates_fold_under_what_they_copy() -> None:
    items = [{"article_id": "a", "duplicate_of": None}, {"article_id": "b", "duplicate_of": "a"},
             {"article_id": "c", "duplicate_of": None}, {"article_id": "d", "duplicate_of": "b"},
             {"article_id": "e", "duplicate_of": "gone"}]
    shown = timeline(items, 0.4)
    assert [e.item["article_id"] for e in shown] == ["a", "c"]
    assert [d.item["article_id"] for d in shown[0].duplicates] == ["b", "d"]
    assert [d.item["article_id"] for d in shown[1].duplicates] == ["e"]
