"""The words of a query, the typo rule, and marking matched words in a name.

Backends share this so that what a shopper sees marked is what the engine
matched: the same word splitting and caps, the same typo budget, the same
prefix rule for the last word. Pure Python, so any backend can use it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 10
# No product word is this long (the embedded index drops longer ones), and
# cutting pasted junk keeps fuzzy matching cheap.
MAX_WORD_CHARS = 40

# Unicode letters with no decomposition that tantivy's ASCII folding still maps.
_FOLD_EXTRA = str.maketrans(
    {
        "ß": "ss", "æ": "ae", "ð": "d", "đ": "d", "ħ": "h", "ı": "i", "ĸ": "q", "ŀ": "l",
        "ł": "l", "ŉ": "n", "ŋ": "n", "ø": "o", "œ": "oe", "ŧ": "t", "þ": "th",
    }
)
# Letters and digits, as tantivy's simple tokenizer splits them.
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lowercase and strip accents so "Kopi", "KOPI" and "Kópi" compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _fold_word(word: str) -> str:
    return word.lower() if word.isascii() else fold(word)


@lru_cache(maxsize=1024)
def query_words(text: str) -> tuple[str, ...]:
    """The words a shopper typed, unfolded, capped so any input stays cheap.

    Punctuation separates words and is dropped, so no engine sees syntax.
    Each backend folds the words the way its index folded the documents.
    """
    words = _WORD.findall(text[:MAX_QUERY_CHARS])
    return tuple(word[:MAX_WORD_CHARS] for word in words[:MAX_QUERY_WORDS])


def typo_budget(word: str) -> int:
    """Typos forgiven in a word, as Meilisearch does: none for short words."""
    if len(word) >= 8:
        return 2
    if len(word) >= 4:
        return 1
    return 0


def _one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or adjacent swap apart."""
    if abs(len(a) - len(b)) > 1:
        return False
    i = 0
    while i < len(a) and i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        swapped = a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2 :] == b[i + 2 :]
        return swapped or a[i + 1 :] == b[i + 1 :]
    if len(a) < len(b):
        return a[i:] == b[i + 1 :]
    return a[i + 1 :] == b[i:]


def _edit_distance(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``, an adjacent swap counting as one (as tantivy counts)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            substitution = previous[j - 1] + (a[i - 1] != b[j - 1])
            best = min(previous[j] + 1, current[j - 1] + 1, substitution)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        previous2, previous = previous, current
    return previous[-1]


def _within(query_word: str, token: str, budget: int) -> bool:
    if budget == 1:  # most words: a linear check instead of the full table
        return _one_edit(query_word, token)
    if abs(len(query_word) - len(token)) > budget:
        return False
    return _edit_distance(query_word, token) <= budget


def _word_matches(query_word: str, token: str, last: bool) -> bool:
    """Whether a folded query word matches a folded token of the document.

    ``last`` marks the final query word, which also matches as a prefix.
    """
    if token == query_word or (last and token.startswith(query_word)):
        return True
    budget = typo_budget(query_word)
    if budget == 0:
        return False
    if last:
        # The word is still being typed: some prefix of the token may be the
        # close one, and only prefixes within ``budget`` of its length can be.
        lengths = range(len(query_word) - budget, len(query_word) + budget + 1)
        return any(_within(query_word, token[:n], budget) for n in lengths if 0 < n <= len(token))
    return _within(query_word, token, budget)


@lru_cache(maxsize=1024)
def _folded_query(query_text: str) -> tuple[str, ...]:
    return tuple(_fold_word(word) for word in query_words(query_text))


# Names share most of their words, so each (query, word) pair is decided once.
@lru_cache(maxsize=65_536)
def _marked(words: tuple[str, ...], token: str) -> bool:
    last = len(words) - 1
    return any(_word_matches(word, token, i == last) for i, word in enumerate(words))


def highlight(text: str, query_text: str) -> str:
    """``text`` HTML-escaped, with words matching the query wrapped in <mark>."""
    words = _folded_query(query_text)
    if not words:
        return html.escape(text)
    pieces = []
    end = 0
    for found in _WORD.finditer(text):
        if _marked(words, _fold_word(found.group())[:MAX_WORD_CHARS]):
            pieces.append(html.escape(text[end : found.start()]))
            pieces.append(f"<mark>{html.escape(found.group())}</mark>")
            end = found.end()
    pieces.append(html.escape(text[end:]))
    return "".join(pieces)
