"""Bounded searches: every search box of the console and the API's `q` consider at most
ORDEROPS["SEARCH_MAX_WORDS"] words and ORDEROPS["SEARCH_MAX_LENGTH"] characters of what was typed, and the
page says when it cut.

One condition per word is what Django's admin adds to its query (and what the order search does): without a
cap, a URL of 1,000 words costs the database seconds of planning alone.
"""

from dataclasses import dataclass

from django.utils.translation import gettext, ngettext

from orderops.conf import orderops_setting


@dataclass(frozen=True)
class BoundedTerm:
    """What a search considers of a typed term: its first words, cut to the longest length, and whether it
    cut."""

    text: str
    words: tuple[str, ...]
    words_dropped: int
    cut_at_length: bool

    @property
    def capped(self) -> bool:
        return bool(self.words_dropped or self.cut_at_length)

    def notice(self) -> str:
        """The sentence the page shows when the term was cut ("searched for the first 8 words")."""
        if self.words_dropped:
            return ngettext(
                "Searched for the first %(count)d word only.",
                "Searched for the first %(count)d words only.",
                len(self.words),
            ) % {"count": len(self.words)}
        return gettext("Searched for the first %(count)d characters only.") % {"count": len(self.text)}


def search_term_bound(term: str) -> BoundedTerm:
    """The part of `term` that a search considers: at most SEARCH_MAX_LENGTH characters, then at most
    SEARCH_MAX_WORDS words (runs of spaces count as one)."""
    max_length = orderops_setting("SEARCH_MAX_LENGTH")
    max_words = orderops_setting("SEARCH_MAX_WORDS")
    stripped = " ".join(term.split())
    cut_at_length = len(stripped) > max_length
    if cut_at_length:
        stripped = stripped[:max_length].rstrip()
    words = stripped.split()
    dropped = max(0, len(words) - max_words)
    words = words[:max_words]
    return BoundedTerm(
        text=" ".join(words), words=tuple(words), words_dropped=dropped, cut_at_length=cut_at_length
    )
