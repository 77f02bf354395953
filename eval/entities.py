"""Entity evaluation: NER on CoNLL-2003 (dev split) and main-entity recall on real news.

    python eval/entities.py [--data DIR] [--limit N] [--json OUT]

1. Entity-level exact-span micro P/R/F1 on ../shared/data/ner-dev/eng.testa, spaCy's
   labels mapped to PER / ORG / LOC / MISC, for the raw model and for newswatch's typed
   mentions (the gazetteer's corrections applied).
2. Main-entity recall@5 on ../shared/data/clustering-dev: an article's ``main-entities``
   should be among its five most salient entities after normalisation.
3. Speed of the whole enrich stage (language, entities, quotes, topics) on those articles.
Skips with a message when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "eval")]

from scoring import iob1_spans, set_prf  # noqa: E402

CONLL_LABELS = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC",
    "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC", "LANGUAGE": "MISC",
}
OUR_TYPES = {"person": "PER", "organisation": "ORG", "place": "LOC", "group": "MISC",
             "event": "MISC", "law": "MISC", "product": "MISC"}


def data_dir(arg: str | None) -> Path:
    import os

    return Path(arg or os.environ.get("NEWSWATCH_SHARED_DATA") or ROOT.parent / "shared" / "data")


def read_conll(path: Path) -> list[list[tuple[list[str], list[str]]]]:
    """Documents → sentences → (tokens, NER tags)."""
    docs: list[list[tuple[list[str], list[str]]]] = []
    tokens: list[str] = []
    tags: list[str] = []

    def end_sentence() -> None:
        if tokens and docs:
            docs[-1].append((tokens.copy(), tags.copy()))
        tokens.clear()
        tags.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            end_sentence()
            docs.append([])
            continue
        if not line.strip():
            end_sentence()
            continue
        parts = line.split()
        tokens.append(parts[0])
        tags.append(parts[-1])
    end_sentence()
    return [d for d in docs if d]


def evaluate_ner(nlp: Any, gazetteer: Any, path: Path, limit: int | None) -> dict[str, Any]:
    from enrich.entities import typed_mentions

    docs = read_conll(path)[:limit]
    gold: set[tuple[int, int, int, str]] = set()
    raw: set[tuple[int, int, int, str]] = set()
    ours: set[tuple[int, int, int, str]] = set()
    texts, offsets = [], []
    for sentences in docs:
        chars: list[tuple[int, int]] = []
        lines = []
        pos = 0
        for tokens, _tags in sentences:
            for tok in tokens:
                chars.append((pos, pos + len(tok)))
                pos += len(tok) + 1
            lines.append(" ".join(tokens))
        texts.append("\n".join(lines))
        offsets.append(chars)
    started = time.perf_counter()
    for d, (sentences, doc) in enumerate(zip(docs, nlp.pipe(texts, batch_size=32), strict=True)):
        base = 0
        for tokens, tags in sentences:
            gold |= {(d, base + s, base + e, k) for s, e, k in iob1_spans(tags)}
            base += len(tokens)
        starts = {c[0]: i for i, c in enumerate(offsets[d])}
        ends = {c[1]: i + 1 for i, c in enumerate(offsets[d])}
        for ent in doc.ents:
            label = CONLL_LABELS.get(ent.label_)
            if label and ent.start_char in starts and ent.end_char in ends:
                raw.add((d, starts[ent.start_char], ends[ent.end_char], label))
        for m in typed_mentions(doc, gazetteer):
            label = OUR_TYPES.get(m.type)
            # typed mentions are cleaned ("the", "'s"): find the token span they cover
            s = next((starts[c] for c in range(m.start, m.end) if c in starts), None)
            e = next((ends[c] for c in range(m.end, m.start, -1) if c in ends), None)
            if label and s is not None and e is not None:
                ours.add((d, s, e, label))
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {"documents": len(docs), "gold_entities": len(gold),
                              "seconds": round(seconds, 2)}
    for name, predicted in (("spacy", raw), ("newswatch", ours)):
        p, r, f = set_prf(predicted, gold)  # type: ignore[arg-type]
        per_type = {}
        for label in ("PER", "ORG", "LOC", "MISC"):
            pt = {x for x in predicted if x[3] == label}
            gt = {x for x in gold if x[3] == label}
            per_type[label] = [round(v, 3) for v in set_prf(pt, gt)]  # type: ignore[arg-type]
        result[name] = {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3),
                        "per_type": per_type}
    return result


def load_clustering(path: Path, limit: int | None) -> list[dict[str, Any]]:
    files = sorted(path.glob("articles/*/*.json"))[:limit]
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def body_of(article: dict[str, Any]) -> str:
    paragraphs = article.get("body-paragraphs") or []
    return "\n".join(" ".join(p) if isinstance(p, list) else str(p) for p in paragraphs)


def evaluate_main_entities(nlp: Any, gazetteer: Any, articles: list[dict[str, Any]]) -> dict[str, Any]:
    from enrich.analyze import Document, analyze
    from enrich.gazetteer import normalise
    from enrich.topics import load_taxonomy

    docs = [Document(a["title"], body_of(a)) for a in articles]
    words = sum(len(d.text.split()) + len(d.title.split()) for d in docs)
    started = time.perf_counter()
    results = analyze(docs, nlp, gazetteer, load_taxonomy())
    seconds = time.perf_counter() - started
    wanted = found = 0
    misses: list[str] = []
    for article, result in zip(articles, results, strict=True):
        top = result.entities[:5]
        keys = {e.id for e in top}
        names = {normalise(n) for e in top for n in (e.name, *e.surfaces)}
        for main in article.get("main-entities") or []:
            wanted += 1
            entry = gazetteer.lookup(main)
            ids = {entry.id, entry.country_id} if entry is not None else set()
            last = normalise(main).split()[-1:] if main else []
            if ids & keys or normalise(main) in names or (last and last[0] in names):
                found += 1
            elif len(misses) < 15:
                misses.append(f"{main!r} not in top 5 of {article['title'][:60]!r}: "
                              f"{[e.name for e in top]}")
    return {
        "articles": len(articles), "main_entities": wanted,
        "recall_at_5": round(found / wanted, 3) if wanted else 0.0,
        "articles_per_second": round(len(docs) / seconds, 1),
        "words_per_second": round(words / seconds),
        "examples_missed": misses,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    root = data_dir(args.data)
    ner_file = root / "ner-dev" / "eng.testa"
    clustering = root / "clustering-dev"
    if not ner_file.exists() and not clustering.exists():
        print(f"skipped: no development data at {root} (ner-dev, clustering-dev)")
        return 0
    from core.settings import load_settings
    from enrich.gazetteer import Gazetteer
    from enrich.nlp import load_model

    nlp = load_model(load_settings().nlp_model)
    gazetteer = Gazetteer.load()
    report: dict[str, Any] = {}
    if ner_file.exists():
        ner = report["ner"] = evaluate_ner(nlp, gazetteer, ner_file, args.limit)
        print(f"NER on {ner_file.name}: {ner['documents']} documents, {ner['gold_entities']} entities")
        print(f"{'system':<10} {'P':>6} {'R':>6} {'F1':>6}   per type F1 (PER ORG LOC MISC)")
        for name in ("spacy", "newswatch"):
            r = ner[name]
            types = " ".join(f"{r['per_type'][t][2]:.3f}" for t in ("PER", "ORG", "LOC", "MISC"))
            print(f"{name:<10} {r['precision']:>6.3f} {r['recall']:>6.3f} {r['f1']:>6.3f}   {types}")
    else:
        print(f"skipped NER: {ner_file} is absent")
    if clustering.exists():
        main_ = report["main_entities"] = evaluate_main_entities(
            nlp, gazetteer, load_clustering(clustering, args.limit)
        )
        print(f"\nmain-entity recall@5 on {main_['articles']} articles "
              f"({main_['main_entities']} main entities): {main_['recall_at_5']:.3f}")
        print(f"enrich speed: {main_['articles_per_second']} articles/s, "
              f"{main_['words_per_second']} words/s (one process)")
        for line in main_["examples_missed"][:8]:
            print(f"  missed: {line}")
    else:
        print(f"skipped main entities: {clustering} is absent")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
