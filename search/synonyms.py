"""Spellings of one Indonesian word that shoppers use interchangeably.

Each group is a set of equal spellings: a query for any of them finds products
written with any other. Meilisearch takes them as index settings; the embedded
backend expands a query word into its group. Words only, lowercase, no
punctuation: "oleh-oleh" is indexed as two words "oleh oleh" by both engines.
"""

from __future__ import annotations

SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("keripik", "kripik"),
    ("kerupuk", "krupuk"),
    ("sambal", "sambel"),
    ("oleh2", "oleh oleh"),
    ("cabai", "cabe"),
    ("cokelat", "coklat"),
    ("telur", "telor"),
    ("bakso", "baso"),
    ("tempe", "tempeh"),
    ("sate", "satai"),
    ("sirup", "sirop"),
    ("nanas", "nenas"),
    ("kue", "kueh"),
)


def synonym_map() -> dict[str, list[str]]:
    """Every spelling -> the others of its group (Meilisearch's ``synonyms`` setting)."""
    return {word: [other for other in group if other != word]
            for group in SPELLINGS for word in group}


# Single-word spellings only: a word typed alone expands to its one-word equals.
_ONE_WORD = {word: tuple(o for o in others if " " not in o)
             for word, others in synonym_map().items() if " " not in word}


def alternatives(word: str) -> tuple[str, ...]:
    """The other one-word spellings of a folded query word (none for most words)."""
    return _ONE_WORD.get(word, ())
