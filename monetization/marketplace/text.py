"""Checks of what people type (titles, descriptions, reviews, file names) and the words the
full-text search indexes.

Text must be storable by every back end: no NUL, no lone surrogate (PostgreSQL refuses
both, and a driver error must never stand for a bad request), no other control character
but tab and newline. Search words are made here, in Python, for both back ends alike, so
PostgreSQL and SQLite index and match exactly the same words (see :func:`words`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from ledger import USD, InvalidAmount, parse_amount
from monetization.ids import SLUG_RE
from monetization.marketplace.errors import InvalidCourse
from monetization.marketplace.model import CourseDraft, Level

TITLE_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 20_000
TAGS_MAX = 10
PRICE_MAX_CENTS = 100_000_00  # $100,000.00
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")
LANGUAGE_MAX_CHARS = 35
_ZERO = re.compile(r"0(\.0{1,2})?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A word: a run of letters and digits (underscore separates, as every other character).
_WORD = re.compile(r"[^\W_]+")
WORD_MAX_CHARS = 64
QUERY_WORDS_MAX = 8
_ENCODED = "x"  # first letter of every word stored in its encoded form


def check_text(value: object, what: str, max_chars: int, *, min_chars: int = 0) -> str:
    """``value`` if it is text every back end stores as given, within the length bounds."""
    if not isinstance(value, str):
        raise InvalidCourse(f"{what} must be a string")
    if _CONTROL.search(value):
        raise InvalidCourse(f"{what} holds a NUL or another control character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidCourse(f"{what} is not valid Unicode text (a lone surrogate)") from None
    if not min_chars <= len(value) <= max_chars:
        raise InvalidCourse(f"{what} must have {min_chars}-{max_chars} characters")
    return value


def check_slug(value: object, what: str) -> str:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise InvalidCourse(f"{what} must match ^{SLUG_RE.pattern}$")
    return value


def parse_price(text: object) -> int:
    """A price in cents from ``"49.99"``; ``"0"`` is a free course."""
    if isinstance(text, str) and _ZERO.fullmatch(text):
        return 0
    if not isinstance(text, str):
        raise InvalidCourse('price is a decimal string such as "49.99" or "0"')
    try:
        cents = parse_amount(text, USD)
    except InvalidAmount as error:
        raise InvalidCourse(f"price: {error.detail}") from None
    if cents > PRICE_MAX_CENTS:
        raise InvalidCourse("price must be at most 100000.00")
    return cents


def course_draft(
    *,
    title: object,
    description: object,
    category: object,
    level: object,
    language: object,
    price: object,
    tags: object,
) -> CourseDraft:
    """A validated :class:`CourseDraft`; raises :class:`InvalidCourse` naming the field."""
    try:
        parsed_level = Level(level)  # type: ignore[arg-type]
    except ValueError:
        raise InvalidCourse("level is beginner, intermediate or advanced") from None
    if (
        not isinstance(language, str)
        or len(language) > LANGUAGE_MAX_CHARS
        or (not LANGUAGE_RE.fullmatch(language))
    ):
        raise InvalidCourse("language is a language tag such as en, pt-BR or zh-Hant")
    if not isinstance(tags, Sequence) or isinstance(tags, str) or len(tags) > TAGS_MAX:
        raise InvalidCourse(f"tags is a list of at most {TAGS_MAX} slugs")
    checked_tags = tuple(dict.fromkeys(check_slug(t, "a tag") for t in tags))
    return CourseDraft(
        title=check_text(title, "title", TITLE_MAX_CHARS, min_chars=1).strip() or _blank(),
        description=check_text(description, "description", DESCRIPTION_MAX_CHARS),
        category=check_slug(category, "category"),
        level=parsed_level,
        language=language,
        price=parse_price(price),
        tags=checked_tags,
    )


def _blank() -> str:
    raise InvalidCourse("title must not be blank")


# --- search words --------------------------------------------------------------------------


def _encode(word: str) -> str:
    """A word as the index stores it: ASCII words as they are; any other word (and an ASCII
    one that starts with the marker) as the marker and its UTF-8 bytes in hex. Injective, and
    only ``[a-z0-9]``, so neither back end's tokenizer can split or fold it differently."""
    if word.isascii() and not word.startswith(_ENCODED):
        return word
    return _ENCODED + word.encode("utf-8").hex()


def words(text: str) -> list[str]:
    """The search words of ``text``, in order: runs of letters and digits after NFKC and
    case folding, at most :data:`WORD_MAX_CHARS` long (longer runs are not words)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return [_encode(w) for w in _WORD.findall(folded) if len(w) <= WORD_MAX_CHARS]


def document(parts: Iterable[str]) -> str:
    """The distinct words of ``parts``, space-separated, in first-seen order."""
    seen: dict[str, None] = {}
    for part in parts:
        for word in words(part):
            seen.setdefault(word, None)
    return " ".join(seen)


def query_words(q: str) -> list[str]:
    """The distinct words of a search query (at most :data:`QUERY_WORDS_MAX`)."""
    found = list(dict.fromkeys(words(q)))
    if len(found) > QUERY_WORDS_MAX:
        raise InvalidCourse(f"a search query takes at most {QUERY_WORDS_MAX} words")
    return found
