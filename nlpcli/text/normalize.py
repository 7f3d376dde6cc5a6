"""Tagger-free text clean-up: Unicode NFC, whitespace, repeated characters, character filters."""

from __future__ import annotations

import re
import unicodedata

from nlpcli.errors import UsageError

#: ``--keep`` presets: the characters to keep (everything else becomes a space).
KEEP_PRESETS = {
    "hangul": "ㄱ-ㅎㅏ-ㅣ가-힣",  # the usual NSMC recipe: Hangul and spaces only
    "hangul-digits": "ㄱ-ㅎㅏ-ㅣ가-힣0-9",
    "hangul-latin": "ㄱ-ㅎㅏ-ㅣ가-힣A-Za-z0-9",
    "no-punct": r"\w",
}

_SPACES = re.compile(r"\s+")


def keep_pattern(keep: str) -> re.Pattern:
    """A regex matching the characters to drop: a preset name or a ``[...]`` class to keep."""
    if keep in KEEP_PRESETS:
        chars = KEEP_PRESETS[keep]
    elif keep.startswith("[") and keep.endswith("]") and len(keep) > 2:
        chars = keep[1:-1]
    else:
        raise UsageError(
            f"--keep must be one of {', '.join(KEEP_PRESETS)} or a character class "
            f"such as '[가-힣0-9]' (got {keep!r})"
        )
    try:
        return re.compile(f"[^{chars}\\s]+")
    except re.error as exc:
        raise UsageError(f"--keep {keep!r} is not a valid character class ({exc})") from None


def squash_pattern(max_repeat: int) -> re.Pattern:
    return re.compile(rf"(.)\1{{{max_repeat},}}")


def clean_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class Normalizer:
    """The tagger-free steps of a recipe, compiled once: NFC, filter, squash, spaces."""

    def __init__(self, nfc: bool = True, keep: str | None = None, squash: int = 0, spaces: bool = False):
        if not 0 <= squash <= 10_000:  # re's repeat counts stop at 2**32 - 1 (OverflowError)
            raise UsageError("--squash must be 0 (off) or a number of repeats to keep, at most 10000")
        self.nfc = nfc
        self.drop = keep_pattern(keep) if keep else None
        self.squash = squash
        self._squash_re = squash_pattern(squash) if squash else None
        self.spaces = spaces or bool(keep)

    @property
    def active(self) -> bool:
        return self.nfc or self.drop is not None or self.squash > 0 or self.spaces

    def __call__(self, text: str) -> str:
        if self.nfc and not text.isascii():
            text = unicodedata.normalize("NFC", text)
        if self.drop is not None:
            text = self.drop.sub(" ", text)
        if self._squash_re is not None:
            n = self.squash
            text = self._squash_re.sub(lambda m: m.group(1) * n, text)
        if self.spaces:
            text = clean_spaces(text)
        return text
