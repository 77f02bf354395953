"""Near-duplicate detection: precision / recall of ``stories.duplicates`` on pairs built here.

    python eval/dedup.py [--json OUT] [--show]

Base articles: the demo site's articles (``newswatch.demo.site.load_articles()``) and every
``tests/fixtures/topics/*.toml``. From each base we generate later copies that must be found
(positives): an exact copy (re-laid out), a syndicated copy with a wire header and footer, a
light rewrite (sentences dropped, swapped, one added), spun copies with 20% and 35% of the
content words replaced from the synonym table below, the first 70% of the words, and a
first-25% excerpt. The demo's spun article against its original is a real spun pair.
Negatives: the same story told by other outlets (demo ``wire``/``tv``/``roundup`` and the two
Iranian drone sanction stories), different stories sharing a topic label, random pairs, and
different stories wrapped in the same syndication boilerplate.

The decision is the production one: exact body hash, else an LSH candidate (a shared band
key) that passes ``is_near_duplicate``. Also printed: the shingle study (exact Jaccard for
several k), the banding study, a threshold sweep and the signature speed.
Exit status 1 when precision < 0.95 or spun-20% recall < 0.9.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from stories import duplicates as dedup  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "topics"
TARGET_PRECISION = 0.95
TARGET_SPUN20_RECALL = 0.9
POSITIVE_KINDS = ("exact", "syndicated", "light-rewrite", "spun-20", "spun-35", "truncated-70",
                  "excerpt-25", "demo-spun")
NEGATIVE_KINDS = ("same-story", "same-topic", "same-boilerplate", "random")

# Our synonym table: a common news word, then what a spinner puts in its place.
SYNONYMS_TEXT = """
said: stated, noted | says: states | told: informed | officials: authorities
official: representative | government: administration | announced: declared
reported: disclosed | report: study | new: fresh | big: large | large: sizable
small: minor | major: significant | key: crucial | important: vital | increase: rise
increased: grew | rise: climb | rose: climbed | fell: dropped | fall: drop
decline: slump | cut: reduced | cuts: reductions | show: reveal | shows: reveals
showed: revealed | help: assist | helped: assisted | plan: scheme | plans: proposals
began: started | start: beginning | started: began | ended: finished | week: seven days
month: four weeks | year: twelve months | years: decades | people: individuals
company: firm | companies: firms | firm: company | market: marketplace | price: cost
prices: costs | cost: price | high: elevated | higher: greater | low: modest | lower: reduced
first: initial | last: final | early: initial | recent: latest | expected: anticipated
likely: probable | warned: cautioned | support: backing | supported: backed
military: armed forces | forces: troops | troops: soldiers | weapons: arms | shells: munitions
attack: assault | attacks: assaults | strike: raid | strikes: raids | city: metropolis
area: zone | region: area | nearly: almost | almost: nearly | several: a number of
many: numerous | including: such as | however: nevertheless | although: though
covertly: secretly | secretly: covertly | shipping: sending | ships: vessels | ship: vessel
port: harbour | route: path | shift: change | aging: ageing | images: pictures
moved: transferred | bound: heading | seen: spotted | unclear: not clear
raised: brought up | weighing: considering | involved: concerned | violate: breach
ban: prohibit | investigate: probe | analysts: experts | sustain: maintain | heavily: highly
dependent: reliant | respond: reply | reached: contacted | answer: reply | emails: messages
records: documents | list: describe | consigned: sent | declined: refused | closely: carefully
percent: per cent | million: millions | billion: billions | quickly: rapidly | slowly: gradually
biggest: largest | largest: biggest | smaller: lesser | statement: declaration | agency: body
minister: secretary | leader: head | leaders: heads | country: nation | countries: nations
state: nation | national: countrywide | international: global | global: worldwide
local: regional | residents: inhabitants | workers: employees | children: kids | police: officers
killed: slain | died: perished | injured: wounded | damage: destruction | damaged: harmed
fire: blaze | storm: tempest | rain: rainfall | winds: gusts | cold: chilly | hot: scorching
team: squad | game: match | win: victory | won: triumphed | beat: defeated | season: campaign
record: best mark | shares: stocks | stocks: shares | investors: traders | profit: earnings
sales: revenue | deal: agreement | talks: negotiations | meeting: gathering | vote: ballot
approved: endorsed | rejected: dismissed | decision: ruling | law: legislation | rules: regulations
sanctions: penalties | drones: unmanned aircraft | missiles: rockets | nuclear: atomic
war: conflict | front: frontline | border: frontier | aircraft: planes | supply: provide
supplies: provisions | delivered: handed over | deliveries: shipments | allow: permit
allowed: permitted | need: require | needs: requires | use: employ | used: employed
using: employing | build: construct | built: constructed | buy: purchase | bought: purchased
sell: offer | sold: offered | pay: compensate | paid: settled | spend: invest | spent: invested
""".replace("\n", " | ")
SYNONYMS: dict[str, tuple[str, ...]] = {
    word.strip(): tuple(s.strip() for s in syns.split(","))
    for entry in SYNONYMS_TEXT.split("|") if entry.strip()
    for word, syns in [entry.split(":")]
}
HEADERS = ("GLOBAL WIRE SERVICE —", "By Global Wire Service staff reporters.",
           "(Global Wire) —", "Distributed by Global Wire Service for partner publications.")
FOOTERS = (
    "Copyright 2026 Global Wire Service. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed without permission.",
    "This story has been corrected to fix the spelling of a name in the fourth paragraph.",
    "Reporting by Global Wire staff; editing by the world desk. Follow us for updates.",
    "This article was originally published by Global Wire Service and is republished here "
    "under a content-sharing agreement.",
)
ADDED_SENTENCES = (
    "The figures could not be independently verified.",
    "More details are expected to be released in the coming days.",
    "It was not immediately clear how the decision would affect those involved.",
    "The story is developing and will be updated as more information becomes available.",
)
SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
TOKEN = re.compile(r"(\w+)")


@dataclass(frozen=True)
class Base:
    source: str
    story: str
    role: str
    topics: frozenset[str]
    text: str


@dataclass(frozen=True)
class Pair:
    kind: str
    duplicate: bool
    old: str  # the earlier article's source id
    new: str
    old_text: str
    new_text: str


def load_bases() -> list[Base]:
    from newswatch.demo.catalog import load_articles

    bases = [Base(f"demo/{a.outlet}--{a.slug}", a.story, a.role, frozenset(a.topics),
                  "\n\n".join(a.paragraphs)) for a in load_articles()]
    for path in sorted(FIXTURES.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        bases.append(Base(f"topics/{path.stem}", path.stem, "", frozenset(data["topics"]),
                          "\n\n".join(data["paragraphs"])))
    return bases


def relayout(text: str) -> str:
    """The same words re-laid out: one paragraph per line, doubled spaces, curly quotes."""
    return "  \n".join(text.split("\n\n")).replace('"', "“").replace(". ", ".  ")


def syndicate(text: str, rng: random.Random) -> str:
    return f"{rng.choice(HEADERS)}\n\n{text}\n\n{rng.choice(FOOTERS)}"


def sentences(text: str) -> list[str]:
    return [s for p in text.split("\n\n") for s in SENTENCE_END.split(p) if s.strip()]


def light_rewrite(text: str, rng: random.Random) -> str:
    """Drop ~10% of the sentences, swap two neighbours, add one sentence."""
    sents = sentences(text)
    for _ in range(max(1, len(sents) // 10)):
        sents.pop(rng.randrange(1, len(sents)))
    i = rng.randrange(len(sents) - 1)
    sents[i], sents[i + 1] = sents[i + 1], sents[i]
    sents.insert(rng.randrange(1, len(sents)), rng.choice(ADDED_SENTENCES))
    return " ".join(sents)


def spin(text: str, rate: float, rng: random.Random) -> tuple[str, float]:
    """Replace ``rate`` of the content words (lower-case, not stop words), table words first;
    returns the text and the share of replacements the table supplied (the rest are marked
    variants, which to a shingle are just as different)."""
    parts = TOKEN.split(text)
    content = [i for i in range(1, len(parts), 2)
               if parts[i].isalpha() and parts[i].islower() and parts[i] not in dedup.STOPWORDS]
    in_table = [i for i in content if parts[i] in SYNONYMS]
    others = [i for i in content if parts[i] not in SYNONYMS]
    rng.shuffle(in_table)
    rng.shuffle(others)
    chosen = (in_table + others)[: round(rate * len(content))]
    for i in chosen:
        parts[i] = rng.choice(SYNONYMS[parts[i]]) if parts[i] in SYNONYMS else parts[i] + "ish"
    table = set(in_table)
    from_table = sum(1 for i in chosen if i in table)
    return "".join(parts), from_table / len(chosen) if chosen else 1.0


def truncate(text: str, share: float) -> str:
    words = text.split(" ")
    return " ".join(words[: round(share * len(words))])


def build_pairs(bases: Sequence[Base], seed: int = 2026) -> tuple[list[Pair], dict[str, float]]:
    """Labelled pairs and the synonym table's share of the spun substitutions per rate."""
    pairs: list[Pair] = []
    table_share: dict[str, list[float]] = defaultdict(list)
    for n, b in enumerate(bases):
        rng = random.Random(seed * 1000 + n)
        variants = {"exact": relayout(b.text), "syndicated": syndicate(b.text, rng),
                    "light-rewrite": light_rewrite(b.text, rng)}
        for rate in (20, 35):
            variants[f"spun-{rate}"], share = spin(b.text, rate / 100, rng)
            table_share[f"spun-{rate}"].append(share)
        variants["truncated-70"] = truncate(b.text, 0.7)
        variants["excerpt-25"] = truncate(b.text, 0.25)
        pairs += [Pair(k, True, b.source, f"{b.source}#{k}", b.text, v)
                  for k, v in variants.items()]
    roles = {(b.story, b.role): b for b in bases if b.role}
    original, spun = roles[("dprk-shells", "original")], roles[("dprk-shells", "spun")]
    pairs.append(Pair("demo-spun", True, original.source, spun.source, original.text, spun.text))
    by_story: dict[str, list[Base]] = defaultdict(list)
    for b in bases:
        by_story[b.story].append(b)
    for group in by_story.values():
        for x, y in itertools.combinations(group, 2):
            if {x.role, y.role} != {"original", "spun"}:
                pairs.append(Pair("same-story", False, x.source, y.source, x.text, y.text))
    different = [(x, y) for x, y in itertools.combinations(bases, 2) if x.story != y.story]
    pairs += [Pair("same-topic", False, x.source, y.source, x.text, y.text)
              for x, y in different if x.topics & y.topics]
    rng = random.Random(seed)
    for x, y in rng.sample(different, 400):
        pairs.append(Pair("random", False, x.source, y.source, x.text, y.text))
    for x, y in rng.sample(different, 200):
        header, footer = rng.choice(HEADERS), rng.choice(FOOTERS)
        pairs.append(Pair("same-boilerplate", False, x.source, y.source,
                          f"{header}\n\n{x.text}\n\n{footer}", f"{header}\n\n{y.text}\n\n{footer}"))
    return pairs, {k: sum(v) / len(v) for k, v in table_share.items()}


# --- measuring -------------------------------------------------------------------------------

def quantiles(values: Sequence[float]) -> dict[str, float]:
    s = sorted(values)
    at = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return {"n": len(s), "min": s[0], "p05": at(0.05), "median": at(0.5), "p95": at(0.95),
            "max": s[-1]}


def prf(rows: Sequence[dict[str, Any]], decide: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Precision / recall / F1 of a decision over the pairs, and recall per positive kind."""
    hits = [decide(r) for r in rows]
    tp = sum(h for h, r in zip(hits, rows, strict=True) if r["duplicate"])
    fp = sum(h for h, r in zip(hits, rows, strict=True) if not r["duplicate"])
    positives = sum(r["duplicate"] for r in rows)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / positives
    by_kind = {k: sum(h for h, x in zip(hits, rows, strict=True) if x["kind"] == k)
               / sum(x["kind"] == k for x in rows) for k in POSITIVE_KINDS}
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "tp": tp, "fp": fp, "fn": positives - tp, "recall_by_kind": by_kind}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def shared_band(a: np.ndarray, b: np.ndarray, bands: int, rows: int) -> bool:
    eq = (a[: bands * rows] == b[: bands * rows]).reshape(bands, rows)
    return bool(eq.all(axis=1).any())


def evaluate(pairs: Sequence[Pair]) -> list[dict[str, Any]]:
    """One row per pair: hash equality, estimated/exact Jaccard, containment, LSH, decision."""
    cache: dict[str, tuple[dedup.Fingerprint, set[str], set[str]]] = {}

    def get(text: str) -> tuple[dedup.Fingerprint, set[str], set[str]]:
        if text not in cache:
            fp = dedup.fingerprint(text)
            cache[text] = (fp, dedup.shingles(text), set(dedup.band_keys(fp.signature)))
        return cache[text]

    rows = []
    for p in pairs:
        (fo, so, ko), (fn, sn, kn) = get(p.old_text), get(p.new_text)
        exact, candidate = fo.body_hash == fn.body_hash, bool(ko & kn)
        match = dedup.best_duplicate(fn, [(p.old, fo)]) if exact or candidate else None
        rows.append({
            "kind": p.kind, "duplicate": p.duplicate, "old": p.old, "new": p.new,
            "exact": exact, "candidate": candidate, "decided": match is not None,
            "estimate": dedup.similarity(fn.signature, fo.signature),
            "jaccard": jaccard(so, sn),
            "containment": dedup.containment(fn.signature, fo.signature),
            "contained": dedup.is_near_duplicate(fn.signature, fo.signature, 1.01),
            "sig_new": fn.signature.array(), "sig_old": fo.signature.array(),
        })
    return rows


def sweep(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Threshold sweep: by similarity alone, and end to end (hash, else LSH candidate)."""
    out = []
    for t in [x / 100 for x in range(10, 95, 5)]:
        def near(r: dict[str, Any], t: float = t) -> bool:
            return bool(r["estimate"] >= t or r["contained"])
        alone = prf(rows, lambda r, near=near: r["exact"] or near(r))
        e2e = prf(rows, lambda r, near=near: r["exact"] or (r["candidate"] and near(r)))
        out.append({"threshold": t, **{k: alone[k] for k in ("precision", "recall", "f1", "fp")},
                    **{k: alone["recall_by_kind"][k] for k in ("spun-20", "spun-35",
                                                                "excerpt-25")},
                    "e2e_recall": e2e["recall"], "e2e_spun-35": e2e["recall_by_kind"]["spun-35"]})
    return out


def shingle_study(pairs: Sequence[Pair]) -> list[dict[str, Any]]:
    """Exact Jaccard per shingle choice: low tail of positives against the highest negative."""
    out = []
    for drop, k in itertools.product((False, True), (1, 2, 3, 4, 5)):
        texts = {t for p in pairs for t in (p.old_text, p.new_text)}
        sets = {t: dedup.shingles(t, k, drop_stopwords=drop) for t in texts}
        j = defaultdict(list)
        for p in pairs:
            j[p.kind].append(jaccard(sets[p.old_text], sets[p.new_text]))
        neg = sorted(v for kind in NEGATIVE_KINDS for v in j[kind])
        row = {"shingles": f"{'content ' if drop else ''}words k={k}", "neg_max": neg[-1],
               "neg_p99": neg[int(0.99 * len(neg))], "demo_spun": j["demo-spun"][0]}
        for kind in ("spun-20", "spun-35"):
            row[f"{kind}_p05"] = quantiles(j[kind])["p05"]
            row[f"{kind}_ratio"] = row[f"{kind}_p05"] / neg[-1]
        out.append(row)
    return out


def num_perm_study(pairs: Sequence[Pair], bases: Sequence[Base]) -> list[dict[str, Any]]:
    """Estimation error, decisions at THRESHOLD (similarity alone) and speed per NUM_PERM."""
    shingled = {t: dedup.shingles(t) for p in pairs for t in (p.old_text, p.new_text)}
    out = []
    for n in (64, 128, 256):
        sigs = {t: dedup.signature_of_shingles(s, n) for t, s in shingled.items()}
        rows = [{"kind": p.kind, "duplicate": p.duplicate,
                 "estimate": dedup.similarity(sigs[p.new_text], sigs[p.old_text]),
                 "jaccard": jaccard(shingled[p.new_text], shingled[p.old_text])} for p in pairs]
        errors = sorted(abs(r["estimate"] - r["jaccard"]) for r in rows)
        m = prf(rows, lambda r: r["estimate"] >= dedup.THRESHOLD)
        start = time.perf_counter()
        for b in bases * 10:
            dedup.signature_of_shingles(dedup.shingles(b.text), n)
        rate = 10 * len(bases) / (time.perf_counter() - start)
        out.append({"num_perm": n, "mean_abs_error": sum(errors) / len(errors),
                    "p99_abs_error": errors[int(0.99 * len(errors))], "precision": m["precision"],
                    "spun-20": m["recall_by_kind"]["spun-20"],
                    "spun-35": m["recall_by_kind"]["spun-35"], "articles_per_s": rate,
                    "bytes": 4 * (n + 1)})
    return out


def banding_study(rows: Sequence[dict[str, Any]], bases: Sequence[Base]) -> list[dict[str, Any]]:
    """Per (perms, bands, rows): S-curve, recall kept by LSH, load from unrelated pairs.

    A 128-permutation signature is the first 128 values of the 256 one (same seeds). Recall
    columns: share of the non-exact positives (all, and spun-35) that are candidates and
    estimated >= THRESHOLD. The load is the expected number of candidates a new article gets
    per 10,000 stored articles, from the exact Jaccard of every pair of different base stories
    (all, and those sharing a topic): mean of 1 - (1 - J^rows)^bands, times 10,000."""
    t = dedup.THRESHOLD
    near = [r for r in rows if r["duplicate"] and not r["exact"]]
    spun35 = [r for r in near if r["kind"] == "spun-35"]
    negatives = [r for r in rows if not r["duplicate"]]
    sets = [dedup.shingles(b.text) for b in bases]
    unrelated, same_topic = [], []
    for (x, sx), (y, sy) in itertools.combinations(zip(bases, sets, strict=True), 2):
        if x.story != y.story:
            unrelated.append(jaccard(sx, sy))
            if x.topics & y.topics:
                same_topic.append(jaccard(sx, sy))
    out = []
    for n, r_ in itertools.product(sorted({128, dedup.NUM_PERM}), (2, 3, 4)):
        b = n // r_

        def p_cand(s: float, b: int = b, r_: int = r_) -> float:
            return float(1 - (1 - s**r_) ** b)

        def kept(x: dict[str, Any], n: int = n, b: int = b, r_: int = r_) -> bool:
            est = np.count_nonzero(x["sig_new"][:n] == x["sig_old"][:n]) / n
            return est >= t and shared_band(x["sig_new"], x["sig_old"], b, r_)

        out.append({
            "num_perm": n, "bands": b, "rows": r_, "s_curve_mid": (1 / b) ** (1 / r_),
            "p_cand_at_threshold": p_cand(t),
            "recall": sum(map(kept, near)) / len(near),
            "spun-35": sum(map(kept, spun35)) / len(spun35),
            "negative_candidates": sum(shared_band(x["sig_new"], x["sig_old"], b, r_)
                                       for x in negatives) / len(negatives),
            "load_unrelated_10k": 1e4 * sum(map(p_cand, unrelated)) / len(unrelated),
            "load_same_topic_10k": 1e4 * sum(map(p_cand, same_topic)) / len(same_topic),
        })
    return out


def speed(bases: Sequence[Base], n: int = 3000) -> dict[str, dict[str, float]]:
    """Hash + signature + band keys per article, one process: over the base articles repeated
    to n, and over long articles (six consecutive bases joined, n / 6 of them)."""
    texts = [b.text for b in bases]
    longs = ["\n\n".join(texts[i : i + 6]) for i in range(len(texts) - 5)]
    out = {}
    for name, pool, count in (("bases", texts, n), ("long", longs, n // 6)):
        batch = [pool[i % len(pool)] for i in range(count)]
        start = time.perf_counter()
        for text in batch:
            dedup.band_keys(dedup.fingerprint(text).signature)
        elapsed = time.perf_counter() - start
        words = sum(len(t.split()) for t in batch)
        out[name] = {"articles_per_s": count / elapsed, "ms_per_article": 1000 * elapsed / count,
                     "words_per_article": words / count, "words_per_s": words / elapsed}
    return out


def headline() -> dict[str, Any]:
    """Just the production decision's figures (what the tests check)."""
    return prf(evaluate(build_pairs(load_bases())[0]), lambda r: r["decided"])


def run() -> dict[str, Any]:
    bases = load_bases()
    pairs, table_share = build_pairs(bases)
    rows = evaluate(pairs)
    decided = prf(rows, lambda r: r["decided"])
    no_containment = prf(rows, lambda r: r["exact"] or (
        r["candidate"] and r["estimate"] >= dedup.THRESHOLD))
    counts = {k: sum(r["kind"] == k for r in rows) for k in POSITIVE_KINDS + NEGATIVE_KINDS}
    return {
        "parameters": {"k": dedup.K, "num_perm": dedup.NUM_PERM, "bands": dedup.BANDS,
                       "rows": dedup.ROWS, "threshold": dedup.THRESHOLD,
                       "containment": dedup.CONTAINMENT,
                       "min_containment_jaccard": dedup.MIN_CONTAINMENT_JACCARD},
        "bases": len(bases), "pairs": counts, "synonym_table_words": len(SYNONYMS),
        "synonym_table_share": table_share,
        "headline": decided,
        "targets_met": decided["precision"] >= TARGET_PRECISION
        and decided["recall_by_kind"]["spun-20"] >= TARGET_SPUN20_RECALL,
        "without_containment": no_containment,
        "distribution": {k: quantiles([r["estimate"] for r in rows if r["kind"] == k])
                         for k in POSITIVE_KINDS + NEGATIVE_KINDS},
        "sweep": sweep(rows),
        "shingles": shingle_study(pairs),
        "num_perm": num_perm_study(pairs, bases),
        "banding": banding_study(rows, bases),
        "speed": speed(bases),
        "errors": [{k: r[k] for k in ("kind", "old", "new", "estimate", "jaccard",
                                      "containment", "candidate")}
                   for r in rows if r["decided"] != r["duplicate"]],
    }


def print_report(res: dict[str, Any], show: bool = False) -> None:
    p, h, w = res["parameters"], res["headline"], res["without_containment"]
    print(f"dedup eval: {res['bases']} base articles; pairs {res['pairs']}")
    print(f"parameters: k={p['k']} num_perm={p['num_perm']} bands={p['bands']}x{p['rows']} "
          f"threshold={p['threshold']} containment>={p['containment']} "
          f"(when J>={p['min_containment_jaccard']})")
    print(f"synonym table: {res['synonym_table_words']} words, supplying "
          + ", ".join(f"{v:.0%} of the {k} substitutions"
                      for k, v in res["synonym_table_share"].items()))
    print(f"\nDECISION (hash, else LSH candidate + verify): precision {h['precision']:.3f}  "
          f"recall {h['recall']:.3f}  F1 {h['f1']:.3f}  (tp {h['tp']}, fp {h['fp']}, "
          f"fn {h['fn']})")
    print("recall by kind: " + ", ".join(f"{k} {v:.3f}" for k, v in h["recall_by_kind"].items()))
    print(f"without the containment rule: precision {w['precision']:.3f}, recall "
          f"{w['recall']:.3f}, excerpt-25 {w['recall_by_kind']['excerpt-25']:.3f}")
    print("\nestimated Jaccard by kind      n    min    p05 median    p95    max")
    for kind, q in res["distribution"].items():
        label = ("+ " if kind in POSITIVE_KINDS else "- ") + kind
        print(f"  {label:<24}{q['n']:>5}" + "".join(
            f"{q[x]:>7.3f}" for x in ("min", "p05", "median", "p95", "max")))
    print("\nthreshold sweep: similarity alone (hash, J >= t or contained); e2e adds LSH")
    print("     t   prec recall     F1   fp spun20 spun35  exc25  e2e-rec e2e-s35")
    for s in res["sweep"]:
        print(f"  {s['threshold']:.2f} {s['precision']:.3f}  {s['recall']:.3f}  {s['f1']:.3f} "
              f"{s['fp']:>4}  {s['spun-20']:.3f}  {s['spun-35']:.3f}  {s['excerpt-25']:.3f}"
              f"    {s['e2e_recall']:.3f}   {s['e2e_spun-35']:.3f}")
    print("\nshingle study (exact Jaccard): p05 of spun copies against the highest negative")
    print("  shingles               negmax negp99 s20p05 s35p05 s20/neg s35/neg  demo")
    for s in res["shingles"]:
        print(f"  {s['shingles']:<22}{s['neg_max']:>7.3f}{s['neg_p99']:>7.3f}"
              f"{s['spun-20_p05']:>7.3f}{s['spun-35_p05']:>7.3f}{s['spun-20_ratio']:>8.2f}"
              f"{s['spun-35_ratio']:>8.2f}{s['demo_spun']:>6.2f}")
    print(f"\nNUM_PERM study (similarity alone at t={p['threshold']})")
    print("  perms  mean|err|  p99|err|   prec spun20 spun35  signatures/s  bytes")
    for s in res["num_perm"]:
        print(f"  {s['num_perm']:>5}  {s['mean_abs_error']:>9.3f} {s['p99_abs_error']:>9.3f}  "
              f"{s['precision']:.3f}  {s['spun-20']:.3f}  {s['spun-35']:.3f}  "
              f"{s['articles_per_s']:>12.0f}  {s['bytes']:>5}")
    print(f"\nbanding study (t={p['threshold']}; recall = non-exact positives kept by LSH and "
          "J >= t; load = expected candidates per 10k stored articles)")
    print("  perms bands rows  s-mid  P(cand|t)  recall spun35  neg cand  load unrel same-topic")
    for b in res["banding"]:
        print(f"  {b['num_perm']:>5} {b['bands']:>5} {b['rows']:>4}  {b['s_curve_mid']:.3f}  "
              f"{b['p_cand_at_threshold']:>9.3f}  {b['recall']:.3f}  {b['spun-35']:.3f}  "
              f"{b['negative_candidates']:>8.3f}  {b['load_unrelated_10k']:>10.1f}  "
              f"{b['load_same_topic_10k']:>9.1f}")
    print()
    for name, s in res["speed"].items():
        print(f"speed ({name}): {s['articles_per_s']:.0f} articles/s ({s['ms_per_article']:.2f} ms "
              f"each, {s['words_per_article']:.0f} words on average, {s['words_per_s']:.0f} "
              "words/s; hash + signature + band keys, one process)")
    by_kind: dict[str, int] = defaultdict(int)
    for r in res["errors"]:
        by_kind[r["kind"]] += 1
    print(f"\nmisclassified pairs: {len(res['errors'])} {dict(by_kind)}"
          + ("" if show else " (--show lists them)"))
    for r in res["errors"] if show else ():
        print(f"  {r['kind']:<16} J~{r['estimate']:.3f} (exact {r['jaccard']:.3f}, "
              f"cont {r['containment']:.2f}, cand {r['candidate']}) {r['new']}")
    print(f"\ntargets (precision >= {TARGET_PRECISION}, spun-20 recall >= "
          f"{TARGET_SPUN20_RECALL}): {'met' if res['targets_met'] else 'MISSED'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the full result as JSON here")
    parser.add_argument("--show", action="store_true", help="list every misclassified pair")
    args = parser.parse_args(argv)
    res = run()
    print_report(res, args.show)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))
    return 0 if res["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
