"""Blocked names and marks found in text: case- and accent-insensitive, whole words.

"Zorblax" is found in "a ZÖRBLAX ball!" but not in "zorblaxian". A name made only of
common words ("Apple", "Shell", "Ball Corp" is not: "corp" is not common) would match
half of all captions, so such a name matches only where it is written with its own
capitals, as a proper noun ("Apple pie" yes, "an apple" no): ``COMMON_WORDS`` is that
allowlist (the words of our scene vocabulary and a short list of frequent English words).

>>> normalise("Ça Déjà-Vu, ACME!")
'ca deja vu acme'
>>> found_in("The ACMÉ rocket", "Acme"), found_in("acmeology", "Acme")
(True, False)
>>> found_in("an apple falls", "Apple"), found_in("Apple falls", "Apple")
(False, True)
"""

from __future__ import annotations

import unicodedata

from ..scene.compose.vocabulary import COLORS, MATERIALS, OBJECTS

_FREQUENT = (
    "a an the and or of in on at to from by with for as is are be it its this that "
    "ball balls box boxes block ramp floor wall water sun moon star apple orange shell "
    "jaguar puma mustang gap target dove tide pandora amazon oracle windows office "
    "word excel mint blackberry corona visa fossil sprite subway guess bounty mars galaxy "
    "time life fire stone gold silver ice rock glass red blue green black white pink "
    "one two three four five big small fast slow new old good best world play game "
)

COMMON_WORDS: frozenset[str] = frozenset(
    _FREQUENT.split() + [word.lower() for word in (*COLORS, *MATERIALS, *OBJECTS)]
)
"""Words that alone never block: a name made only of them must be written with its own
capitals to match (see the module's docstring)."""


def normalise(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics one space."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(kept.split())


def _unaccented(text: str) -> str:
    """Accents removed, case kept, every run of non-alphanumerics one space."""
    folded = unicodedata.normalize("NFKD", text)
    kept = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(kept.split())


def is_common(name: str) -> bool:
    """Whether every word of ``name`` is on the allowlist."""
    words = normalise(name).split()
    return bool(words) and all(word in COMMON_WORDS for word in words)


def found_in(text: str, name: str) -> bool:
    """Whether ``name`` occurs in ``text`` as whole words (see the module's rules)."""
    if is_common(name):
        return f" {_unaccented(name)} " in f" {_unaccented(text)} "
    key = normalise(name)
    return bool(key) and f" {key} " in f" {normalise(text)} "
