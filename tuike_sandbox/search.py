"""Keyword search over the sandbox catalogue, shaped like a real league's: forgiving, ranked.

Real league searches ignore case and full/half width, split `iphone15` into `iphone 15`, know that
苹果 is Apple, and rank a Huawei phone above a cable whose title merely says it is 适用苹果华为. Every
sandbox face (Channels, TOP, JOS, PDD) asks this one index, so the four answer the same way.

A query is cut into tokens: ASCII words and numbers apart (`iphone15` → `iphone`, `15`), Chinese runs
segmented by the catalogue's own words (brands, nouns, keywords, categories: `苹果手机` → `苹果`, `手机`).
A product matches when every token is found in it; where it is found decides the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.leagues.relevance import BRAND_ALIASES, SUITS, is_cjk, normalise, raw_tokens

# score of a token found in each place; a product's score is the sum over the query's tokens
BRAND, TITLE, KEYWORD, CATEGORY, SUITABLE = 8, 6, 4, 2, 1


@dataclass(frozen=True, slots=True)
class _Entry:
    brand: frozenset[str]
    title: tuple[str, ...]
    suitable: tuple[str, ...]
    keywords: tuple[str, ...]
    categories: tuple[str, ...]


class SearchIndex:
    """Built once per catalogue; `search` is a scan of a few hundred small entries."""

    def __init__(self, items: Sequence[tuple[str, str, Sequence[str], Sequence[str]]]) -> None:
        """`items`: per product (brand, title, keywords, category names), in catalogue order."""
        self._entries: list[_Entry] = []
        vocabulary: set[str] = set()
        for brand, title, keywords, categories in items:
            names = {normalise(brand), *raw_tokens(brand), *BRAND_ALIASES.get(brand, ())}
            main, _, suitable = normalise(title).partition(SUITS)
            entry = _Entry(
                brand=frozenset(names),
                title=tuple(raw_tokens(main)),
                suitable=tuple(raw_tokens(suitable)),
                keywords=tuple(t for k in keywords for t in raw_tokens(k)),
                categories=tuple(t for c in categories for t in raw_tokens(c)),
            )
            self._entries.append(entry)
            vocabulary |= {w for w in (*names, *entry.keywords, *entry.categories) if is_cjk(w)}
        self._vocabulary = frozenset(vocabulary)
        self._longest = max((len(w) for w in vocabulary), default=1)

    def tokens(self, query: str) -> list[str]:
        """`iphone15` → [iphone, 15]; `苹果手机` → [苹果, 手机]: Chinese runs cut at the catalogue's words."""
        out: list[str] = []
        for token in raw_tokens(query):
            out.extend(self._segment(token) if is_cjk(token) else [token])
        return list(dict.fromkeys(out))

    def _segment(self, run: str) -> list[str]:
        """Greedy longest match against the vocabulary; characters between known words stay together."""
        words: list[str] = []
        unknown = ""
        i = 0
        while i < len(run):
            for size in range(min(self._longest, len(run) - i), 1, -1):
                if run[i : i + size] in self._vocabulary:
                    if unknown:
                        words.append(unknown)
                        unknown = ""
                    words.append(run[i : i + size])
                    i += size
                    break
            else:
                unknown += run[i]
                i += 1
        if unknown:
            words.append(unknown)
        return words

    def scores(self, query: str) -> list[int]:
        """Per product (catalogue order): 0 when some token is missing, otherwise higher is better."""
        tokens = self.tokens(query)
        if not tokens:
            return [0] * len(self._entries)
        return [_score(entry, tokens) for entry in self._entries]


def _found(token: str, words: Iterable[str]) -> bool:
    """A Chinese token is found inside a word (耳机 in 蓝牙耳机); an ASCII one is the word itself, or
    the start of a longer one when it has letters (airpod → airpods; 15 is not 150)."""
    if is_cjk(token):
        return any(token in w for w in words)
    return any(w == token or (token.isalpha() and len(token) > 2 and w.startswith(token)) for w in words)


def _score(entry: _Entry, tokens: list[str]) -> int:
    total = 0
    for token in tokens:
        if token in entry.brand:
            best = BRAND
        elif _found(token, entry.title):
            best = TITLE
        elif _found(token, entry.keywords):
            best = KEYWORD
        elif _found(token, entry.categories):
            best = CATEGORY
        elif _found(token, entry.suitable):
            best = SUITABLE
        else:
            return 0
        total += best
    return total
