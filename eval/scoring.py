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
