"""Checks of a text against a prompt's machine-checkable ``Constraints``.

Pure functions, stdlib only: the gold labeler calls them on every sampled answer and the evals use
them for metadata checks, so they must be cheap and give the same verdict everywhere.

The rules, one per constraint field:

- ``min_words`` / ``max_words``: ``count_words(text)`` is at least / at most the limit.
- ``max_sentences``: ``count_sentences(text)`` is at most the limit.
- ``format``: ``"list"`` needs at least one list line (bulleted or numbered); ``"numbered_list"`` needs at
  least one numbered line and no bulleted line; ``"json"`` needs ``parse_json(text)`` to give an object
  or an array.
- ``num_items``: exactly that many items. Items are the numbered lines for ``numbered_list``, the
  elements (array) or keys (object) for ``json``, and every list line (bulleted or numbered) otherwise.
- ``must_include``: every phrase occurs in the text (case-insensitive substring).
- ``must_exclude``: no phrase occurs in the text (case-insensitive substring).
- ``exact_answer``: the normalised answer occurs in the normalised text as a whole token run (see
  ``contains_answer``).

``check_constraints`` returns one entry per constraint that is set; ``constraint_score`` is the fraction
of those entries that hold (1.0 when none is set).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from instructrl.data.schemas import Constraints

# A word needs a letter or digit: "-", "—" and "..." standing alone are not words.
_ALNUM = re.compile(r"[^\W_]")
# A sentence ends at a run of . ! ? (optionally closed by quotes or brackets) that is followed by
# whitespace or the end of the text, so "3.5", "e.g.x" and "example.com" do not end one. A line break
# also ends one, so list lines and headings count as sentences of their own.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|\n")
_CLOSERS = "\"'”’)]"
_LIST_NUMBER = re.compile(r"[ \t]*\d{1,3}")  # the number of a "1. " list marker, alone on its line so far
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "prof", "jr", "sr", "vs", "e.g", "i.e"})
_BULLET = re.compile(r"^[ \t]*[-*•][ \t]+\S", re.MULTILINE)
_NUMBERED = re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+\S", re.MULTILINE)
_BULLET_ITEM = re.compile(r"^[ \t]*[-*•][ \t]+(\S.*?)[ \t]*$", re.MULTILINE)
_NUMBERED_ITEM = re.compile(r"^[ \t]*\d{1,3}[.)][ \t]+(\S.*?)[ \t]*$", re.MULTILINE)
_ANY_ITEM = re.compile(r"^[ \t]*(?:[-*•]|\d{1,3}[.)])[ \t]+(\S.*?)[ \t]*$", re.MULTILINE)
_FENCE = re.compile(r"```[ \t]*(?:[Jj][Ss][Oo][Nn])?[ \t]*\n?(.*?)```", re.DOTALL)
_SPACES = re.compile(r"\s+")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")
_TRAILING = ".,;:!?\"'”’ "
_LEADING = "\"'“‘ "
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                 "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")


def count_words(text: str) -> int:
    """Whitespace-separated tokens that contain at least one letter or digit.

    "It's a 3-day trip — fun!" has 5 words: the lone dash is not one."""
    return sum(1 for token in text.split() if _ALNUM.search(token))


def count_sentences(text: str) -> int:
    """Sentences: stretches of text ended by a run of . ! ? followed by whitespace or the end of the
    text, by a line break, or by the end of the text. Only stretches with a letter or digit count. A lone
    "." right after a common title or abbreviation (Mr. Mrs. Ms. Dr. St. Prof. Jr. Sr. vs. e.g. i.e.)
    does not end a sentence, nor does the "." of a numbered-list marker ("1. ").

    "Hi. How are you?! Fine" has 3; "Pi is 3.14." has 1; "Dr. Lee met St. John." has 1; an empty text
    has 0; each list line is one ("1. Mix. Stir." is two)."""
    count, start = 0, 0
    for end in _SENTENCE_END.finditer(text):
        piece = text[start:end.start()]
        if end.group().rstrip(_CLOSERS) == "." and (_last_token(piece) in _ABBREVIATIONS or _LIST_NUMBER.fullmatch(piece)):
            continue  # "St. Peter's" and the "1." of a numbered line go on
        count += bool(_ALNUM.search(piece))
        start = end.end()
    return count + bool(_ALNUM.search(text[start:]))


def _last_token(piece: str) -> str:
    tokens = piece.split()
    return tokens[-1].lstrip("(\"'“‘").casefold() if tokens else ""


def list_items(text: str, numbered: bool) -> list[str]:
    """The items of a list in ``text``, marker removed, in order.

    A bulleted item is a line starting (after optional spaces) with "- ", "* " or "• "; a numbered item
    one starting with 1 to 3 digits and "." or ")" then a space ("1. ", "12) "). ``numbered`` picks
    which kind is returned. A marker with nothing after it is not an item; "**bold**" is not a bullet.
    """
    return (_NUMBERED_ITEM if numbered else _BULLET_ITEM).findall(text)


def _all_list_items(text: str) -> list[str]:
    return _ANY_ITEM.findall(text)


def parse_json(text: str) -> dict[str, Any] | list[Any] | None:
    """The JSON object or array that ``text`` is, or None.

    Accepted: the whole text (surrounding whitespace ignored), or the first ``` fence (optionally
    tagged json) anywhere in the text, prose around it allowed. Scalars ("3", "\"hi\"") are not
    accepted: the format asks for an object or an array."""
    candidates = [text.strip()]
    fence = _FENCE.search(text)
    if fence:
        candidates.insert(0, fence.group(1).strip())
    for candidate in candidates:
        if not candidate or candidate[0] not in "[{":
            continue
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, (dict, list)):
            return value
    return None


def _fold(text: str) -> str:
    """Casefold, drop accents ("Bogotá" -> "bogota"), collapse whitespace, drop thousands commas."""
    text = text.casefold()
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _DIGIT_COMMA.sub("", _SPACES.sub(" ", text))


def normalize_answer(text: str) -> str:
    """Folded like the text it is searched in (case, accents, whitespace, thousands commas: "1,200" ->
    "1200"), then leading quotes and trailing punctuation stripped ("Paris." -> "paris")."""
    return _fold(text).strip().rstrip(_TRAILING).lstrip(_LEADING)


@lru_cache(maxsize=4096)
def _answer_pattern(answer: str) -> re.Pattern[str]:
    # Not glued to a letter or digit on either side, and a number must not be the start or the end of
    # a longer decimal: "12" is not found in "112", "3" is not found in "3.5", "paris" not in "parisian".
    # A small number may be written either way: "eight" also finds "8", and "8" finds "eight".
    alternatives = [re.escape(answer)]
    if answer in _NUMBER_WORDS:
        alternatives.append(str(_NUMBER_WORDS.index(answer)))
    elif answer.isdigit() and int(answer) < len(_NUMBER_WORDS) and answer == str(int(answer)):
        alternatives.append(_NUMBER_WORDS[int(answer)])
    return re.compile(r"(?<![^\W_])(?<!\d[.,])(?:" + "|".join(alternatives) + r")(?![^\W_])(?![.,]\d)")


def contains_answer(text: str, answer: str) -> bool:
    """Whether ``answer`` occurs in ``text``, both folded by ``normalize_answer`` (case, accents, whitespace,
    thousands commas; the answer's own trailing punctuation is dropped), as a whole run: not glued to a
    letter or digit on either side and not part of a longer decimal number. Numbers zero to twenty match
    as digits or words ("eight" == "8"). An empty answer is never found."""
    needle = normalize_answer(answer)
    if not needle:
        return False
    return _answer_pattern(needle).search(_fold(text)) is not None


def _format_ok(fmt: str, text: str) -> bool:
    if fmt == "json":
        return parse_json(text) is not None
    if fmt == "numbered_list":
        return bool(_NUMBERED.search(text)) and not _BULLET.search(text)
    if fmt == "list":
        return bool(_BULLET.search(text) or _NUMBERED.search(text))
    return False  # schemas.FORMATS guards this; an unknown format can never be satisfied


def count_items(fmt: str | None, text: str) -> int:
    """How many items ``num_items`` sees under ``fmt`` (see the module doc)."""
    if fmt == "json":
        value = parse_json(text)
        return len(value) if value is not None else 0
    if fmt == "numbered_list":
        return len(list_items(text, numbered=True))
    return len(_all_list_items(text))


def check_constraints(constraints: Constraints | None, text: str) -> dict[str, bool]:
    """One verdict per constraint that is set, keyed by the field name (see the module doc)."""
    if constraints is None:
        return {}
    c = constraints
    results: dict[str, bool] = {}
    if c.min_words is not None or c.max_words is not None:
        words = count_words(text)
        if c.min_words is not None:
            results["min_words"] = words >= c.min_words
        if c.max_words is not None:
            results["max_words"] = words <= c.max_words
    if c.max_sentences is not None:
        results["max_sentences"] = count_sentences(text) <= c.max_sentences
    if c.format is not None:
        results["format"] = _format_ok(c.format, text)
    if c.num_items is not None:
        results["num_items"] = count_items(c.format, text) == c.num_items
    if c.must_include or c.must_exclude:
        folded = text.casefold()
        if c.must_include:
            results["must_include"] = all(p.casefold() in folded for p in c.must_include)
        if c.must_exclude:
            results["must_exclude"] = not any(p.casefold() in folded for p in c.must_exclude)
    if c.exact_answer is not None:
        results["exact_answer"] = contains_answer(text, c.exact_answer)
    return results


def constraint_score(constraints: Constraints | None, text: str) -> float:
    """The fraction of set constraints that ``text`` satisfies; 1.0 when none is set."""
    results = check_constraints(constraints, text)
    return sum(results.values()) / len(results) if results else 1.0
