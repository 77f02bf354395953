from __future__ import annotations

import pytest

from ingest.urls import article_id, canonicalize, choose_canonical, same_site


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTP://Example.COM:80/a/b", "http://example.com/a/b"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com/story#comments", "https://example.com/story"),
        ("https://example.com/s?utm_source=rss&utm_medium=feed&id=7", "https://example.com/s?id=7"),
        ("https://example.com/s?b=2&fbclid=xyz&a=1&gclid=q", "https://example.com/s?a=1&b=2"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/world/", "https://example.com/world/"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
    ],
)
def test_canonicalize(raw: str, canonical: str) -> None:
    assert canonicalize(raw) == canonical


def test_canonicalize_resolves_relative_links_against_a_base() -> None:
    assert canonicalize("../b?utm_campaign=x", base="https://ex.com/a/c") == "https://ex.com/b"


@pytest.mark.parametrize("bad", ["ftp://example.com/x", "mailto:a@b.c", "/relative", "http://"])
def test_canonicalize_rejects_non_http(bad: str) -> None:
    with pytest.raises(ValueError):
        canonicalize(bad)


def test_article_id_is_stable_and_ignores_scheme() -> None:
    a = article_id("https://example.com/story")
    assert a == article_id("https://example.com/story")
    assert a == article_id("http://example.com/story")
    assert a != article_id("https://example.com/other")
    assert len(a) == 20 and all(c in "0123456789abcdef" for c in a)


def test_canonical_link_is_used_only_on_the_same_site() -> None:
    page = "https://www.example.com/news/story?utm_source=x"
    assert choose_canonical(page, "/news/story-full") == "https://www.example.com/news/story-full"
    assert choose_canonical(page, "https://example.com/news/s") == "https://example.com/news/s"
    assert choose_canonical(page, "https://other.org/news/story") == "https://www.example.com/news/story"
    assert choose_canonical(page, "javascript:alert(1)") == "https://www.example.com/news/story"
    assert choose_canonical(page, None) == "https://www.example.com/news/story"
    assert same_site("https://www.a.com/x", "http://a.com/y")
