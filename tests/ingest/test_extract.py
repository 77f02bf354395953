"""Article extraction on pages written for these tests: JSON-LD bodies, teasers, clutter."""

from __future__ import annotations

import json
from html import escape

import lxml.html
import pytest

import ingest.extract
from ingest.extract import _clean, _drop_bio, _drop_headline, extract_article
from ingest.jsonld import article_from_jsonld

URL = "https://gazette.example/news/2026/11/lighthouse-keepers-cottage"
TITLE = "Lighthouse keeper’s cottage to become a maritime museum"
PARAS = [
    "The council has agreed to turn the empty keeper's cottage beside the north lighthouse into "
    "a small maritime museum, ending a decade of argument over what to do with the building.",
    "Volunteers from the harbour history society will run the museum on weekends from April, "
    "showing the brass lamp mechanism, logbooks from the 1920s and a model of the old pilot boat.",
    "The cottage needs a new roof and drainage before it can open, work the council expects to "
    "cost about ninety thousand pounds, most of it covered by a heritage grant awarded last month.",
    "Residents who objected to the plan had asked for the cottage to be let as holiday housing, "
    "but councillors said a museum would bring more visitors to the quiet end of the promenade.",
]
DECK = "Volunteers will open the building on weekends once the roof has been replaced."


def _jsonld(body: str, kind: object = "NewsArticle", wrap: str = "plain") -> str:
    item = {"@type": kind, "headline": TITLE, "articleBody": body,
            "author": {"@type": "Person", "name": "Mara Quist"}}
    data: object = {"@context": "https://schema.org", **item}
    if wrap == "graph":
        data = {"@context": "https://schema.org",
                "@graph": [{"@type": "WebPage", "name": "Gazette"}, item]}
    elif wrap == "list":
        data = [{"@type": "BreadcrumbList", "itemListElement": []}, item]
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _page(body_html: str, head: str = "", description: str = "") -> str:
    meta = f'<meta name="description" content="{escape(description)}">' if description else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(TITLE)}'
        f'</title><meta property="og:title" content="{escape(TITLE)}">{meta}{head}</head>'
        f"<body><header><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></header>"
        f"{body_html}<footer><p>© 2026 Harbour Gazette</p></footer></body></html>"
    )


def _article(paras: list[str], extra: str = "", top: str = "") -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in paras)
    return f"<main><article><h1>{escape(TITLE)}</h1>{top}{body}{extra}</article></main>"


def test_plain_page_uses_trafilatura_and_drops_the_headline() -> None:
    got = extract_article(_page(_article(PARAS)), URL)
    assert got is not None and got.method == "trafilatura"
    assert got.text.startswith(PARAS[0]) and all(p in got.text for p in PARAS)
    assert got.title == TITLE


def test_script_only_page_falls_back_to_jsonld_article_body() -> None:
    shell = '<div id="app"></div><noscript>Please enable JavaScript to read this page.</noscript>'
    html = _page(shell, head=_jsonld("\n\n".join(PARAS), wrap="graph"))
    got = extract_article(html, URL)
    assert got is not None and got.method == "json-ld"
    assert got.text.split("\n") == PARAS
    assert got.title == TITLE


def test_teaser_page_takes_the_longer_jsonld_body() -> None:
    teaser = _article(PARAS[:1], extra="<p>Subscribe to keep reading this story.</p>")
    ld = _jsonld(" ".join(PARAS), kind=["NewsArticle", "Article"], wrap="list")
    html = _page(teaser, head=ld)
    got = extract_article(html, URL)
    assert got is not None and got.method == "json-ld"
    assert all(p in got.text for p in PARAS)


def test_jsonld_body_keeps_page_metadata_when_trafilatura_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ingest.extract, "_trafilatura", lambda tree, url: None)
    html = _page("<div id='app'></div>", head=_jsonld("\n".join(PARAS)))
    got = extract_article(html, URL)
    assert got is not None and got.method == "json-ld" and got.text.split("\n") == PARAS
    assert got.title == TITLE and got.language == "en"


def test_nothing_usable_is_none() -> None:
    empty = "<html><head><title>Gazette</title></head><body><div id='app'></div></body></html>"
    assert extract_article(empty, URL) is None


def test_shorter_jsonld_body_does_not_replace_the_page_text() -> None:
    html = _page(_article(PARAS), head=_jsonld(PARAS[0]))
    got = extract_article(html, URL)
    assert got is not None and got.method == "trafilatura"
    assert all(p in got.text for p in PARAS)


def test_jsonld_reader_ignores_live_blog_entries_and_other_types() -> None:
    live = {"@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": "Live",
            "liveBlogUpdate": [{"@type": "BlogPosting", "articleBody": "An update. " * 50}]}
    other = {"@type": "Recipe", "articleBody": "Not an article. " * 50}
    html = (
        f'<html><head><script type="application/ld+json">{json.dumps(live)}</script>'
        f'<script type="application/ld+json">{json.dumps(other)}</script>'
        '<script type="application/ld+json">{not json</script></head><body></body></html>'
    )
    assert article_from_jsonld(lxml.html.fromstring(html)) is None


def test_jsonld_reader_turns_markup_and_entities_into_plain_lines() -> None:
    body = "<p>First &amp; foremost.</p><p>Second line.</p>"
    html = f"<html><head>{_jsonld(body)}</head><body></body></html>"
    found = article_from_jsonld(lxml.html.fromstring(html))
    assert found is not None
    assert found.body == "First & foremost.\nSecond line." and found.headline == TITLE


def test_visible_standfirst_is_kept_first_and_hidden_description_is_not() -> None:
    shown = _article(PARAS, top=f'<p class="standfirst"><em>{escape(DECK)}</em></p>')
    got = extract_article(_page(shown, description=DECK), URL)
    assert got is not None and got.text.split("\n")[0] == DECK
    assert got.text.count(DECK) == 1

    hidden = extract_article(_page(_article(PARAS), description=DECK), URL)
    assert hidden is not None and DECK not in hidden.text


def test_promos_tables_and_related_block_stay_out() -> None:
    promo = "CLICK HERE TO GET THE HARBOUR GAZETTE APP FOR FERRY ALERTS"
    table = ("<table><tr><th>Sailing</th><th>Time</th></tr>"
             "<tr><td>Northbound</td><td>07:15</td></tr></table>")
    related = (
        "<h2>More from the Gazette</h2><p>Marina lighting approved after long debate in the "
        "chamber on Tuesday evening.</p><p>Bridge pins arrive from the foundry a week early.</p>"
    )
    body = [*PARAS[:2], promo, *PARAS[2:]]
    got = extract_article(_page(_article(body, extra=table + related)), URL)
    assert got is not None
    assert all(p in got.text for p in PARAS)
    assert promo not in got.text and "Northbound" not in got.text
    assert "Marina lighting" not in got.text


def test_clean_removes_markup_artefacts() -> None:
    raw = "Intro\n- first item\n-  second   item\n___\n* * *\nPhoto credit: A. Lens\n\nEnd."
    assert _clean(raw) == "Intro\nfirst item\nsecond item\nEnd."


def test_drop_headline_matches_other_spellings_and_quotes() -> None:
    text = "World\nLighthouse keeper's cottage to become a maritime museum\nBody."
    assert _drop_headline(text, "Some SEO title", TITLE) == "Body."
    assert _drop_headline("Body only.\nMore.", TITLE) == "Body only.\nMore."


def test_drop_bio_only_for_the_author() -> None:
    text = "Story text.\nMara Quist is a reporter covering the harbour and its ferries."
    assert _drop_bio(text, "Mara Quist") == "Story text."
    assert _drop_bio(text, "Jon Bell") == text
    quote = "Story text.\nQuist is a name that goes back centuries here, the mayor said."
    assert _drop_bio(quote, "") == quote
