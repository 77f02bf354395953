"""The query language: parsing into our AST, and refusing bad input with a position."""

from __future__ import annotations

import contextlib
import random

import pytest

from core.errors import QuerySyntaxError
from search.query import (
    KNOWN_FIELDS,
    MAX_DEPTH,
    MAX_QUERY_CHARS,
    And,
    MatchAll,
    Not,
    Or,
    Phrase,
    Term,
    parse_query,
)


def t(text: str, field: str | None = None) -> Term:
    return Term(text, field)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("flood", t("flood")),
        ("Flood", t("flood")),
        ('"Flood Warning"', Phrase("flood warning")),
        ("flood warning", And((t("flood"), t("warning")))),
        ("flood AND warning", And((t("flood"), t("warning")))),
        ("flood OR drought", Or((t("flood"), t("drought")))),
        ("NOT flood", Not(t("flood"))),
        ("-flood", Not(t("flood"))),
        ("+flood -drought", And((t("flood"), Not(t("drought"))))),
        ("flood NOT drought", And((t("flood"), Not(t("drought"))))),
        # precedence: NOT > AND > OR > implicit AND
        ("a b OR c", And((t("a"), Or((t("b"), t("c")))))),
        ("a AND b OR c", Or((And((t("a"), t("b"))), t("c")))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("a AND (b AND c)", And((t("a"), t("b"), t("c")))),
        ("title:Flood", t("flood", "title")),
        ('body:"river levels"', Phrase("river levels", "body")),
        ("TITLE:flood", t("flood", "title")),
        ("title:(flood OR storm)", Or((t("flood", "title"), t("storm", "title")))),
        ("shell*", Term("shell*", None, wildcard=True)),
        ("title:Sh?ll", Term("sh?ll", "title", wildcard=True)),
        ("*", MatchAll()),
        ("", MatchAll()),
        ("   ", MatchAll()),
        ("title:*", MatchAll()),
        ("* AND flood", t("flood")),
        ("flood OR *", MatchAll()),
        ("Zürich Café", And((t("zürich"), t("café")))),
        ("東京", t("東京")),
        ("covid-19", t("covid-19")),
        ("O'Brien", t("o'brien")),
        ("-'flood'", Not(t("flood'"))),  # a leading ' is ignored; the tokenizer drops the rest
        ("title:'flood'", t("flood'", "title")),
        (r"a\*b", t("a*b")),
        ("and or", And((t("and"), t("or")))),  # lowercase words are words, not operators
    ],
)
def test_parses(query: str, expected: object) -> None:
    assert parse_query(query) == expected


def test_known_fields() -> None:
    assert {"title", "body"} <= KNOWN_FIELDS


def test_ast_is_immutable_and_hashable() -> None:
    node = parse_query("flood -drought")
    with pytest.raises(AttributeError):
        node.items = ()  # type: ignore[misc, union-attr]
    assert hash(node) == hash(parse_query("flood -drought"))


def test_sql_ish_text_is_plain_words() -> None:
    assert parse_query("'; DROP TABLE docs;") == And((t("drop"), t("table"), t("docs;")))
    with pytest.raises(QuerySyntaxError, match="unexpected end"):
        parse_query("'; DROP TABLE docs; --")  # a dangling '-' has nothing to exclude
    with pytest.raises(QuerySyntaxError, match="unbalanced parenthesis") as info:
        parse_query("Robert'); DROP")
    assert info.value.position == 7


def test_punctuation_only_words_are_dropped() -> None:
    assert parse_query("flood ; , .") == t("flood")


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ('"flood warning', 0, "unbalanced quote"),
        ('flood "warning', 6, "unbalanced quote"),
        ('"', 0, "unbalanced quote"),
        ("(flood OR storm", 0, "unbalanced parenthesis"),
        ("flood OR storm)", 14, "unbalanced parenthesis"),
        ("AND AND", 0, "unexpected 'AND'"),
        ("flood AND AND storm", 10, "unexpected 'AND'"),
        ("NOT", 3, "unexpected end"),
        ("flood AND", 9, "unexpected end"),
        ("title:", 6, "unexpected end"),
        (":::", 0, "unexpected ':'"),
        ("author:smith", 0, "unknown field 'author'"),
        ("source:bbc", 0, "source option"),
        ("flood 10:30", 6, "unknown field '10'"),
        ("title:body:flood", 6, "cannot be nested"),
        ("flood~", 0, "fuzzy"),
        ('"flood warning"~3', 0, "proximity"),
        ("flood^2", 0, "boost"),
        ("[a TO b]", 0, "ranges"),
        (">2020", 0, "ranges"),
        ("/flo+d/", 0, "regular expressions"),
        ("flood && storm", 6, "use AND"),
        ("flood \\", 6, "unexpected character"),
        ("covid-1*", 0, "wildcards"),
        ("?", 0, "wildcards"),
        ("🔥", 0, "no searchable words"),
        ('""', 0, "no searchable words"),
        ("flood \udc00", 6, "not valid Unicode"),
    ],
)
def test_errors_have_position(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert info.value.position == position
    assert fragment in str(info.value)


def test_unknown_field_names_known_ones() -> None:
    with pytest.raises(QuerySyntaxError, match="known fields are body, title"):
        parse_query("author:smith")


def test_too_long() -> None:
    parse_query("flood " * (MAX_QUERY_CHARS // 6))
    with pytest.raises(QuerySyntaxError, match="limit is 2000") as info:
        parse_query("a" * (MAX_QUERY_CHARS + 1))
    assert info.value.position == MAX_QUERY_CHARS


def test_too_deep() -> None:
    ok = "(" * MAX_DEPTH + "flood" + ")" * MAX_DEPTH
    assert parse_query(ok) == t("flood")
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse_query("(" * (MAX_DEPTH + 1) + "flood" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse_query("NOT " * (MAX_DEPTH + 1) + "flood")
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse_query("+" * 1000 + "flood")


HOSTILE = [
    '"',
    "'",
    "(",
    ")",
    "((",
    "))",
    "AND AND",
    "NOT",
    "NOT NOT",
    "OR",
    "title:",
    ":::",
    ":",
    "*",
    "**",
    "?",
    "-",
    "+",
    "\\",
    "~",
    "^",
    "[",
    "{",
    "}",
    "]",
    "<",
    ">=",
    "/",
    "//",
    "'; DROP TABLE docs; --",
    '"; DROP TABLE docs; --',
    "1 OR 1=1",
    "docs_fts MATCH '*'",
    'NEAR("a" "b")',
    "{title}: x",
    "title : x",
    "\x00",
    "a\x00b",
    "\u202e\u200b",
    "🔥🔥 AND 💧",
    "ÅÄÖ ñ ß İ",
    "a" * 5000,
    "(" * 500,
    ")" * 500,
    '"' * 501,
    "NOT " * 400,
    "a:b:c:d",
    "title:(body:x)",
    "x^",
    "x~~",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_inputs_raise_only_query_syntax_error(query: str) -> None:
    try:
        parse_query(query)
    except QuerySyntaxError as exc:
        assert str(exc).startswith("invalid query")


def test_random_garbage_raises_only_query_syntax_error() -> None:
    rng = random.Random(20240501)
    alphabet = [*list("abc XYZ\"'()[]{}:*?+-~^\\/<>=!&|"), "AND", "OR", "NOT", "TO", "title"]
    for _ in range(2000):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 25)))
        with contextlib.suppress(QuerySyntaxError):
            parse_query(query)
