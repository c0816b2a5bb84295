"""Blocked names and marks found in text: case- and accent-insensitive, whole words.

>>> normalise("Ça Déjà-Vu, ACME!")
'ca deja vu acme'
"""

from __future__ import annotations

import unicodedata


def normalise(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics one space."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c if c.isalnum() else " " for c in folded if not unicodedata.combining(c))
    return " ".join(kept.split())
