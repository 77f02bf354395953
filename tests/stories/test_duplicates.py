"""Near-duplicate detection: hashes, MinHash signatures, LSH band keys, and the eval's figures."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from script_loader import load_script

from newswatch.demo.catalog import DemoArticle, load_articles
from stories import duplicates as dedup

REPO = Path(__file__).resolve().parents[2]
SAMPLE = ("North Korea has been covertly shipping artillery shells to Russia through a port in "
          "eastern Libya.")


def _eval_module() -> ModuleType:
    return load_script("eval/dedup.py")


def _text(a: DemoArticle) -> str:
    return "\n\n".join(a.paragraphs)


@pytest.fixture(scope="module")
def shells() -> dict[str, DemoArticle]:
    """The demo's developing story, by role: original, spun, wire, tv, roundup."""
    return {a.role: a for a in load_articles() if a.story == "dprk-shells"}


def test_normalise_text_ignores_case_punctuation_diacritics_and_layout() -> None:
    assert dedup.normalise_text("  Café — “Déjà vu”,\n\tSAID  officials.") == \
        "cafe deja vu said officials"
    assert dedup.body_hash("Hello,  World!") == dedup.body_hash("hello\nworld")
    assert dedup.body_hash("Hello world") != dedup.body_hash("Hello word")


def test_shingles() -> None:
    assert dedup.shingles("The cat sat on the mat", 3) == {
        "the cat sat", "cat sat on", "sat on the", "on the mat"}
    assert dedup.shingles("Two words", 3) == {"two words"}
    assert dedup.shingles("The cat sat on the mat", 2, drop_stopwords=True) == {
        "cat sat", "sat mat"}
    assert dedup.shingles(" ... ") == set()


def test_signature_is_deterministic_across_processes() -> None:
    code = ("import sys; from stories import duplicates as dedup; "
            "print(dedup.to_bytes(dedup.signature(sys.stdin.read())).hex())")
    outputs = set()
    for seed in ("0", "1", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], input=SAMPLE, capture_output=True,
                              text=True, cwd=REPO, env=env, check=True)
        outputs.add(done.stdout.strip())
    assert outputs == {dedup.to_bytes(dedup.signature(SAMPLE)).hex()}


def test_signature_and_band_keys_are_pinned() -> None:
    """Stored signatures and band keys stay valid only while this holds: changing K,
    NUM_PERM, BANDS/ROWS, the seeds or the hashing means re-fingerprinting every article."""
    sig = dedup.signature(SAMPLE)
    assert dedup.to_bytes(sig)[:24].hex() == "0e0000003e8d1a1f88833d006fd1ff0003777408a4f9b82f"
    assert dedup.band_keys(sig)[:2] == ["b00:dbbce01a4e913623", "b01:927f8fba65a688ed"]
    assert len(dedup.band_keys(sig)) == dedup.BANDS
    assert dedup.BANDS * dedup.ROWS <= dedup.NUM_PERM


def test_to_bytes_round_trip() -> None:
    sig = dedup.signature(SAMPLE)
    data = dedup.to_bytes(sig)
    assert len(data) == 4 * (dedup.NUM_PERM + 1)
    assert dedup.from_bytes(data) == sig
    assert dedup.from_bytes(memoryview(data)) == sig  # as some DB drivers return BLOBs
    with pytest.raises(ValueError, match="bytes"):
        dedup.from_bytes(data[:-4])


def test_exact_copy_is_found_by_hash(shells: dict[str, DemoArticle]) -> None:
    text = _text(shells["original"])
    copy = "  ".join(text.upper().split("\n\n"))  # re-laid out, shouting
    new = dedup.fingerprint(copy)
    assert new.body_hash == dedup.body_hash(text)
    candidates = [("spun", dedup.fingerprint(_text(shells["spun"]))),
                  ("original", dedup.fingerprint(text))]
    assert dedup.best_duplicate(new, candidates) == dedup.DuplicateMatch("original", 1.0, True)


def test_spun_demo_article_matches_its_original(shells: dict[str, DemoArticle]) -> None:
    original = dedup.fingerprint(_text(shells["original"]))
    spun = dedup.fingerprint(_text(shells["spun"]))
    assert dedup.similarity(spun.signature, original.signature) >= dedup.THRESHOLD + 0.1
    assert set(dedup.band_keys(spun.signature)) & set(dedup.band_keys(original.signature))
    others = [(role, dedup.fingerprint(_text(shells[role]))) for role in ("wire", "tv")]
    match = dedup.best_duplicate(spun, [*others, ("original", original)])
    assert match is not None and match.article_id == "original" and not match.exact
    assert match.similarity >= dedup.THRESHOLD


@pytest.mark.parametrize("role", ["wire", "tv", "roundup"])
def test_other_outlets_versions_are_not_duplicates(shells: dict[str, DemoArticle],
                                                   role: str) -> None:
    """Same event, different text: story clustering's job, not dedup's."""
    new = dedup.fingerprint(_text(shells[role]))
    earlier = [(r, dedup.fingerprint(_text(shells[r]))) for r in ("original", "spun")]
    assert dedup.best_duplicate(new, earlier) is None
    for _, fp in earlier:
        assert dedup.similarity(new.signature, fp.signature) < dedup.THRESHOLD / 2
        assert not dedup.is_near_duplicate(fp.signature, new.signature)  # either direction


def test_band_keys_of_unrelated_articles_rarely_overlap() -> None:
    articles = load_articles()
    keys = {a.slug: set(dedup.band_keys(dedup.signature(_text(a)))) for a in articles}
    pairs = [(x, y) for x, y in itertools.combinations(articles, 2) if x.story != y.story]
    shared = [(x.slug, y.slug) for x, y in pairs if keys[x.slug] & keys[y.slug]]
    assert len(shared) <= 0.02 * len(pairs), shared


def test_truncated_copy_is_a_duplicate_but_a_longer_article_is_not(
        shells: dict[str, DemoArticle]) -> None:
    """A later copy that adds nothing is a duplicate (containment); one that adds a lot is not."""
    words = _text(shells["original"]).split(" ")
    head = dedup.fingerprint(" ".join(words[: len(words) // 4]))
    full = dedup.fingerprint(" ".join(words))
    assert dedup.containment(head.signature, full.signature) >= dedup.CONTAINMENT
    assert dedup.best_duplicate(head, [("full", full)]) is not None
    assert dedup.best_duplicate(full, [("head", head)]) is None


def test_empty_text_matches_nothing() -> None:
    empty = dedup.fingerprint("  ")
    assert empty.signature.size == 0 and dedup.band_keys(empty.signature) == []
    assert dedup.similarity(empty.signature, empty.signature) == 0.0
    assert dedup.best_duplicate(empty, [("other", dedup.fingerprint(""))]) is None


def test_best_duplicate_prefers_the_most_similar_then_the_first() -> None:
    base = " ".join(f"word{i}" for i in range(200))
    close = dedup.fingerprint(base + " one extra sentence here")
    far = dedup.fingerprint(" ".join(base.split()[:150]) + " and then a different ending")
    new = dedup.fingerprint(base)
    match = dedup.best_duplicate(new, [("far", far), ("close", close), ("close2", close)])
    assert match is not None and match.article_id == "close"
    assert dedup.best_duplicate(new, [("far", far)], threshold=0.99) is None


def test_eval_headline_figures_hold() -> None:
    figures = _eval_module().headline()
    assert figures["precision"] >= 0.95
    assert figures["recall_by_kind"]["spun-20"] >= 0.9
    assert figures["recall_by_kind"]["demo-spun"] == 1.0
    for kind in ("exact", "syndicated", "light-rewrite", "truncated-70"):
        assert figures["recall_by_kind"][kind] >= 0.95, kind
