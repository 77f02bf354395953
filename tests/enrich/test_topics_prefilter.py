"""The topic tagger's substring prefilter (a pattern whose required literal is not in the
lower-cased text is not run) changes no tag, score or piece of evidence; it only saves
time."""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterator

import pytest
from script_loader import load_script

from enrich.topics import (
    _FOLDS_TO_ASCII,
    Link,
    Matcher,
    Topic,
    compile_text,
    load_taxonomy,
    required_literal,
    tag_topics,
)

TAXONOMY = load_taxonomy()


def matchers(topic: Topic) -> Iterator[Matcher]:
    yield from (*topic.terms, *topic.phrases, *topic.exclude)
    if topic.link is not None:
        yield from topic.link.terms
        for group in topic.link.groups:
            yield from group


def without_prefilter(topic: Topic) -> Topic:
    def plain(ms: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
        return tuple(dataclasses.replace(m, literal="") for m in ms)

    link: Link | None = topic.link
    if link is not None:
        link = dataclasses.replace(link, terms=plain(link.terms),
                                   groups=tuple(plain(g) for g in link.groups))
    return dataclasses.replace(topic, terms=plain(topic.terms), phrases=plain(topic.phrases),
                               exclude=plain(topic.exclude), link=link)


def labelled() -> list[tuple[str, str]]:
    evaluation = load_script("eval/topics.py")
    return [(a.title, a.text) for a in evaluation.load_labelled()]


def test_every_taxonomy_pattern_has_a_literal_and_every_match_contains_it() -> None:
    docs = labelled()
    assert len(docs) > 50
    for topic in TAXONOMY:
        for m in matchers(topic):
            assert m.literal, m.text
            for title, text in docs:
                for hit in m.pattern.finditer(f"{title}\n\n{text}"):
                    assert m.literal in hit.group(0).lower(), (m.text, hit.group(0))


@pytest.mark.parametrize(
    ("text", "literal", "matches"),
    [
        ("supply", "suppl", "supplies supplied supplying"),
        ("drone", "dron", "droning droned drones"),
        ("ship", "ship", "shipped shipping"),
        ("=arms", "arms", "ARMS"),
        ("denucleari*", "denucleari", "Denuclearization"),
        ("arms transfer", "arms", "Arms-Transfers"),
        ("fighter jet", "fighter", "FIGHTER  JETS"),
    ],
)
def test_required_literal(text: str, literal: str, matches: str) -> None:
    assert required_literal(text) == literal
    for word in [matches] if " " in text or "-" in matches else matches.split():
        hit = compile_text(text).search(word)
        assert hit is not None and literal in hit.group(0).lower()


def test_tags_scores_and_evidence_are_the_same_with_and_without_the_prefilter() -> None:
    plain = [without_prefilter(t) for t in TAXONOMY]
    docs = labelled()
    # and texts with the characters that match ASCII letters case-insensitively
    odd = str.maketrans({"i": "\u0131", "s": "\u017f", "k": "\u212a", "I": "\u0130"})
    docs += [(t.translate(odd), x.translate(odd)) for t, x in docs[:10]]
    tagged = 0
    for title, text in docs:
        fast = tag_topics(title, text, [], TAXONOMY)
        assert fast == tag_topics(title, text, [], plain), title
        tagged += bool(fast)
    assert tagged > 20


def test_the_characters_that_fold_to_ascii_letters_are_all_known() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    found = {c for c in map(chr, range(0x80, sys.maxunicode + 1)) if letter.match(c)}
    assert found == set(_FOLDS_TO_ASCII)
