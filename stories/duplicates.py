"""Near-duplicate detection: exact body hashes, then MinHash over word shingles with LSH bands.

Pure: no I/O. An article's ``fingerprint`` is the SHA-256 of its normalised body (exact copies,
found by an indexed equality lookup) plus a MinHash ``Signature`` of its word k-shingles
(syndicated copies, light edits, spun copies). ``band_keys`` turns a signature into LSH band
keys to store in a ``(band_key, article_id)`` table: articles sharing at least one key are the
candidates, which ``best_duplicate`` verifies. Parameters and their measurements:
``docs/dedup.md`` (``make eval-dedup``). Changing K, NUM_PERM, BANDS, ROWS or SEED_TAG
invalidates stored signatures and band keys.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

K = 3  # words per shingle
NUM_PERM = 256  # MinHash permutations
BANDS, ROWS = 85, 3  # LSH banding: BANDS * ROWS <= NUM_PERM
THRESHOLD = 0.3  # estimated Jaccard at or above which a candidate is a near-duplicate
CONTAINMENT = 0.85  # ... or the share of the new article's shingles found in the earlier one
MIN_CONTAINMENT_JACCARD = 0.15  # below this Jaccard the containment estimate is too noisy
SEED_TAG = b"newswatch-dedup-v1"

STOPWORDS = frozenset([  # function words: what a spinner leaves alone
    "a", "about", "after", "against", "all", "also", "an", "and", "any", "are", "as", "at",
    "be", "because", "been", "before", "being", "between", "both", "but", "by", "can", "could",
    "did", "do", "does", "during", "each", "either", "for", "from", "had", "has", "have", "he",
    "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "me", "more", "most", "my", "no", "nor", "not", "of", "off", "on", "once",
    "only", "or", "other", "our", "out", "over", "own", "same", "she", "should", "so", "some",
    "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "will", "with",
    "would", "you", "your",
])

_WORD = re.compile(r"\w+")
STUB_WORDS = 150  # a body this short that other, unrelated pages share is a site's stub
NOTICE_WORDS = 120  # a notice is short: a real article that mentions cookies is not one
NOTICE = re.compile(  # what sign-up walls, paywalls and consent pages say instead of the article
    r"verification e-?mail|verify your (?:e-?mail|account)|confirm your e-?mail"
    r"|(?:subscribe|sign in|log in|register) (?:now )?to (?:continue|read|keep reading|access)"
    r"|already a (?:subscriber|member)|(?:free )?articles? (?:limit|remaining)"
    r"|you(?:'ve| have) reached (?:your|the) (?:limit|maximum)|enable javascript"
    r"|(?:please )?(?:turn off|disable) (?:your )?ad ?blocker|this content is (?:only )?available"
    r"|access denied|are you a robot|unusual traffic|accept (?:all )?cookies",
    re.IGNORECASE,
)
_CHUNK = 128  # shingles per block of the MinHash computation


@functools.lru_cache(maxsize=4)
def _seeds(num_perm: int) -> npt.NDArray[np.uint64]:
    """One fixed 64-bit seed per permutation, from BLAKE2b: the same in every process."""
    digests = (hashlib.blake2b(SEED_TAG + i.to_bytes(4, "big"), digest_size=8).digest()
               for i in range(num_perm))
    return np.array([int.from_bytes(d, "big") for d in digests], dtype=np.uint64)


@dataclass(frozen=True)
class Signature:
    """A MinHash signature: NUM_PERM 32-bit minima and the number of shingles hashed."""

    values: bytes  # NUM_PERM little-endian uint32
    size: int

    def array(self) -> npt.NDArray[np.uint32]:
        return np.frombuffer(self.values, dtype="<u4")


@dataclass(frozen=True)
class Fingerprint:
    """What dedup needs of one article: exact body hash and MinHash signature."""

    body_hash: str
    signature: Signature


@dataclass(frozen=True)
class DuplicateMatch:
    """The earlier article a new one duplicates, how similar they are, and whether exactly."""

    article_id: str
    similarity: float
    exact: bool


def normalise_text(text: str) -> str:
    """Casefolded, diacritics and punctuation removed, whitespace collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = decomposed if decomposed.isascii() else "".join(
        c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_WORD.findall(stripped.replace("_", " ")))


def body_hash(text: str) -> str:
    """Hex SHA-256 of the normalised text: equal for copies differing only in layout/case."""
    return hashlib.sha256(normalise_text(text).encode()).hexdigest()


def shingles(text: str, k: int = K, *, drop_stopwords: bool = False) -> set[str]:
    """Word k-shingles of the normalised text (a text shorter than k words is one shingle)."""
    words = normalise_text(text).split()
    if drop_stopwords:
        words = [w for w in words if w not in STOPWORDS]
    return _shingles(words, k)


def _shingles(words: list[str], k: int) -> set[str]:
    if len(words) <= k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def signature_of_shingles(items: Iterable[str], num_perm: int | None = None) -> Signature:
    """MinHash of a set of strings: each hashed once (BLAKE2b), then permuted by seeded mixing.

    ``num_perm`` other than NUM_PERM is for measurements only (band keys and storage assume
    NUM_PERM)."""
    num_perm = num_perm or NUM_PERM
    hashed = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")
              for s in items]
    if not hashed:
        return Signature(np.full(num_perm, 0xFFFFFFFF, dtype="<u4").tobytes(), 0)
    values, seeds = np.array(hashed, dtype=np.uint64), _seeds(num_perm)
    minima = np.full(num_perm, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(values), _CHUNK):  # blocks that stay in cache
        x = values[start : start + _CHUNK, None] ^ seeds[None, :]
        # splitmix64 finaliser: a bijection on 64 bits, so each seed is its own permutation
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
        np.minimum(minima, x.min(axis=0), out=minima)
    return Signature((minima >> np.uint64(32)).astype("<u4").tobytes(), len(hashed))


def signature(text: str) -> Signature:
    """MinHash signature of the text's word K-shingles; deterministic across processes."""
    return signature_of_shingles(shingles(text))


def fingerprint(text: str) -> Fingerprint:
    """Body hash and signature, normalising the text once."""
    normalised = normalise_text(text)
    return Fingerprint(hashlib.sha256(normalised.encode()).hexdigest(),
                       signature_of_shingles(_shingles(normalised.split(), K)))


def band_keys(sig: Signature) -> list[str]:
    """LSH keys ``bNN:<16 hex>``, one per band; none for an empty text."""
    if sig.size == 0:
        return []
    values = sig.array()
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        keys.append(f"b{band:02d}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets (0.0 when either is empty)."""
    if a.size == 0 or b.size == 0:
        return 0.0
    x, y = a.array(), b.array()
    if len(x) != len(y):
        raise ValueError(f"signatures of {len(x)} and {len(y)} permutations are not comparable")
    return float(np.count_nonzero(x == y)) / len(x)


def containment(new: Signature, old: Signature) -> float:
    """Estimated share of ``new``'s shingles that are also in ``old``, from Jaccard and sizes."""
    j = similarity(new, old)
    if j == 0.0:
        return 0.0
    return min(1.0, j * (new.size + old.size) / ((1.0 + j) * new.size))


def is_near_duplicate(new: Signature, old: Signature, threshold: float = THRESHOLD) -> bool:
    """Similar enough, or a later copy that adds nothing (``new`` contained in ``old``)."""
    j = similarity(new, old)
    return j >= threshold or (
        j >= MIN_CONTAINMENT_JACCARD and containment(new, old) >= CONTAINMENT
    )


def is_boilerplate(text: str) -> bool:
    """Whether a body is a site's notice (a sign-up wall, a paywall, a verification or
    consent page) rather than an article: short, and saying one of those things. Such a body
    makes no page a duplicate of another and joins no story on its own."""
    words = text.split()
    return len(words) <= NOTICE_WORDS and bool(NOTICE.search(text))


def to_bytes(sig: Signature) -> bytes:
    """Compact storage: uint32 shingle count then NUM_PERM uint32, little-endian."""
    return struct.pack("<I", sig.size) + sig.values


def from_bytes(data: bytes) -> Signature:
    """The inverse of ``to_bytes``; ValueError for any other length (another NUM_PERM)."""
    if len(data) != 4 * (NUM_PERM + 1):
        raise ValueError(f"a stored signature has {4 * (NUM_PERM + 1)} bytes, not {len(data)}")
    return Signature(bytes(data[4:]), struct.unpack("<I", data[:4])[0])


def best_duplicate(
    new: Fingerprint,
    candidates: Iterable[tuple[str, Fingerprint]],
    threshold: float = THRESHOLD,
) -> DuplicateMatch | None:
    """The candidate (an earlier article) that ``new`` duplicates, or None.

    An exact body-hash match wins; otherwise the highest estimated Jaccard among candidates
    that pass ``is_near_duplicate``, the first in iteration order on ties (pass candidates
    oldest first to point at the original).
    """
    best: DuplicateMatch | None = None
    for article_id, candidate in candidates:
        if candidate.body_hash == new.body_hash and new.signature.size:
            return DuplicateMatch(article_id, 1.0, True)
        if is_near_duplicate(new.signature, candidate.signature, threshold):
            sim = similarity(new.signature, candidate.signature)
            if best is None or sim > best.similarity:
                best = DuplicateMatch(article_id, sim, False)
    return best
