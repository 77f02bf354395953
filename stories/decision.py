"""The merge decision: does an article report the event of this story? Pure.

Gradient-boosted decision trees over the features of ``stories/evidence.py``, trained
offline on the development sets by ``eval/train_story_model.py`` (folds grouped by event)
and shipped as ``stories/model.json``: the trees, the join threshold, what reopens a dormant
story and the figures the model was trained to. Nothing is learned at run time, and the
trees are walked here in plain Python (no machine-learning library at run time).

Every decision is explained: each split on the way down a tree moves the log-odds, and that
move is credited to the split's feature, so the contributions add up to the decision
exactly. ``story ID --why`` shows the strongest of them.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from stories.evidence import FEATURES

MODEL_FILE = "model.json"


@dataclass(frozen=True)
class Tree:
    """One regression tree in sklearn's array layout: node i splits on ``feature[i]`` at
    ``threshold[i]`` (go left when the value is at most it); ``left[i] == -1`` is a leaf."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def path(self, x: Sequence[float]) -> list[int]:
        node, nodes = 0, [0]
        while self.left[node] != -1:
            node = self.left[node] if x[self.feature[node]] <= self.threshold[node] else self.right[node]
            nodes.append(node)
        return nodes


@dataclass(frozen=True)
class Model:
    version: str
    features: tuple[str, ...]
    base: float  # the log-odds before any tree (the share of same-event pairs)
    learning_rate: float
    trees: tuple[Tree, ...]
    threshold: float  # join probability
    reopen: Mapping[str, float]  # what a dormant story needs to be continued

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Model:
        features = tuple(data["features"])
        if features != FEATURES:
            raise ValueError(f"story model {data.get('version')} is for features {features}, "
                             f"this code computes {FEATURES}: retrain it (eval/train_story_model.py)")
        trees = tuple(Tree(tuple(t["feature"]), tuple(t["threshold"]), tuple(t["left"]),
                           tuple(t["right"]), tuple(t["value"])) for t in data["trees"])
        return cls(str(data["version"]), features, float(data["base"]),
                   float(data["learning_rate"]), trees, float(data["threshold"]),
                   dict(data.get("reopen", {})))


@dataclass(frozen=True)
class Decision:
    probability: float
    contributions: dict[str, float]  # log-odds each feature added (against the base rate)

    def top(self, n: int = 4) -> list[tuple[str, float]]:
        """The features that pushed hardest, either way."""
        ranked = sorted(self.contributions.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return [(k, round(v, 2)) for k, v in ranked[:n] if abs(v) >= 0.005]


@functools.lru_cache(maxsize=1)
def shipped() -> Model:
    """The model shipped with this version (loaded once per process)."""
    text = resources.files("stories").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return Model.from_json(json.loads(text))


def decide(model: Model, values: Mapping[str, float]) -> Decision:
    x = [values[name] for name in model.features]
    logit = model.base
    credit = [0.0] * len(x)
    for tree in model.trees:
        nodes = tree.path(x)
        logit += model.learning_rate * tree.value[nodes[0]]
        for parent, child in itertools.pairwise(nodes):
            credit[tree.feature[parent]] += model.learning_rate * (tree.value[child] - tree.value[parent])
    logit += sum(credit)
    probability = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
    return Decision(probability, {name: c for name, c in zip(model.features, credit, strict=True) if c})


def continues(model: Model, values: Mapping[str, float], decision: Decision) -> bool:
    """Whether an article carries on a dormant story: the same specific people or places
    (rare names, weighted by how central they are), and a confident decision — a story
    quiet for weeks is not reopened by its topic alone."""
    need = model.reopen
    specific = (values["people"] >= need.get("people", 0.15)
                or values["places"] >= need.get("places", 0.15))
    return specific and decision.probability >= need.get("probability", 0.9)
