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

import numpy as np
import numpy.typing as npt

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
class Forest:
    """The trees as padded arrays (trees x nodes), to score many candidates at once."""

    feature: npt.NDArray[np.intp]
    threshold: npt.NDArray[np.float64]
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    value: npt.NDArray[np.float64]
    depth: int

    @classmethod
    def of(cls, trees: Sequence[Tree]) -> Forest:
        size = max(len(t.feature) for t in trees)

        def padded(column: str, fill: float, dtype: Any) -> Any:
            return np.array([[*getattr(t, column), *[fill] * (size - len(t.feature))]
                             for t in trees], dtype=dtype)

        return cls(padded("feature", 0, np.intp), padded("threshold", 0.0, np.float64),
                   padded("left", -1, np.intp), padded("right", -1, np.intp),
                   padded("value", 0.0, np.float64), max(_depth(t, 0) for t in trees))


def _depth(tree: Tree, node: int) -> int:
    if tree.left[node] == -1:
        return 0
    return 1 + max(_depth(tree, tree.left[node]), _depth(tree, tree.right[node]))


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

    @functools.cached_property
    def forest(self) -> Forest:
        return Forest.of(self.trees)


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


def probabilities(model: Model, rows: Sequence[Mapping[str, float]]) -> list[float]:
    """The join probability of each candidate, all trees walked at once (numpy): the stage
    scores every candidate with this and explains only the few it reports."""
    if not rows:
        return []
    if not model.trees:
        return [1.0 / (1.0 + math.exp(-model.base))] * len(rows)
    f = model.forest
    x = np.array([[row[name] for name in model.features] for row in rows], dtype=np.float64)
    trees = np.arange(f.feature.shape[0])[:, None]
    columns = np.arange(len(rows))[None, :]
    node = np.zeros((f.feature.shape[0], len(rows)), dtype=np.intp)
    for _ in range(f.depth):
        leaf = f.left[trees, node] == -1
        go_left = x[columns, f.feature[trees, node]] <= f.threshold[trees, node]
        step = np.where(go_left, f.left[trees, node], f.right[trees, node])
        node = np.where(leaf, node, step)
    logit = model.base + model.learning_rate * f.value[trees, node].sum(axis=0)
    return [float(p) for p in 1.0 / (1.0 + np.exp(-np.clip(logit, -30.0, 30.0)))]


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


def continues(model: Model, values: Mapping[str, float], probability: float) -> bool:
    """Whether an article carries on a dormant story: the same specific people or places
    (rare names, weighted by how central they are), and a confident decision — a story
    quiet for weeks is not reopened by its topic alone."""
    need = model.reopen
    specific = (values["people"] >= need.get("people", 0.15)
                or values["places"] >= need.get("places", 0.15))
    return specific and probability >= need.get("probability", 0.9)
