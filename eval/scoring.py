"""Scorers for the evaluation scripts. Pure functions, no I/O.

Extraction uses the convention of the shared development data: token-level precision, recall
and F1 of the extracted body against the gold body, over whitespace tokens, with multiset
overlap (a token counts as many times as it occurs on both sides).
"""

from __future__ import annotations

from collections import Counter


def token_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``predicted`` against ``gold`` over whitespace tokens.

    Empty sides: both empty is a perfect match (1, 1, 1); otherwise an empty side makes the
    ratio that divides by it 0 rather than undefined, so an extraction that returns nothing
    scores (0, 0, 0) and so does any text extracted where the gold body is empty.
    """
    pred_tokens = Counter(predicted.split())
    gold_tokens = Counter(gold.split())
    n_pred = sum(pred_tokens.values())
    n_gold = sum(gold_tokens.values())
    if n_pred == 0 and n_gold == 0:
        return 1.0, 1.0, 1.0
    if n_pred == 0 or n_gold == 0:
        return 0.0, 0.0, 0.0
    overlap = sum((pred_tokens & gold_tokens).values())
    precision = overlap / n_pred
    recall = overlap / n_gold
    if overlap == 0:
        return precision, recall, 0.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def set_prf(predicted: set[object], gold: set[object]) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of two sets of items (e.g. typed entity spans)."""
    hit = len(predicted & gold)
    precision = hit / len(predicted) if predicted else (1.0 if not gold else 0.0)
    recall = hit / len(gold) if gold else (1.0 if not predicted else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def iob1_spans(tags: list[str]) -> set[tuple[int, int, str]]:
    """Entity spans ``(start, end, type)`` (token indices, end exclusive) from IOB1 tags.

    In IOB1 an ``I-`` tag continues the previous entity of its type and ``B-`` only marks
    the start of an entity that directly follows another of the same type; converting to
    BIO first (as the CoNLL convention asks) gives the same spans as this direct reading.
    """
    spans: set[tuple[int, int, str]] = set()
    start, kind = -1, ""
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == kind and start >= 0
        if not continues:
            if start >= 0:
                spans.add((start, i, kind))
            start, kind = (i, label) if prefix in ("I", "B") else (-1, "")
    return spans
