"""Making text safe for the GSM 03.38 7-bit alphabet, so that an SMS is not sent as UCS-2.

One character outside the alphabet (a curly quote, an en dash, the no-break space that Norwegian
money formatting puts in "2 450,00 kr", an emoji) turns the whole message into UCS-2, which cuts
a segment from 160 to 70 characters and triples the cost. Norwegian æ, ø and å are in the
alphabet; so are é, ä, ö and ü.
"""

from __future__ import annotations

import unicodedata

BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = set("^{}\\[~]|€")  # two septets each
ALPHABET = BASIC | EXTENSION

REPLACEMENTS = {
    "\u00a0": " ",
    "\u202f": " ",
    "\u2007": " ",
    "\u2009": " ",
    "\u200b": "",  # spaces
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\u00b7": "-",
    "\t": " ",
    "\u00e1": "a",
    "\u00e2": "a",
    "\u00e7": "c",
    "\u00ea": "e",
    "\u00eb": "e",
    "\u00ed": "i",
    "\u00f3": "o",
    "\u00f4": "o",
    "\u00fa": "u",
    "\u00c1": "A",
    "\u00d3": "O",
}


def to_gsm7(text: str) -> str:
    """`text` with every character in the GSM-7 alphabet: known look-alikes replaced, accents
    dropped where the alphabet lacks the accented letter, anything else (emoji) removed."""
    out = []
    for char in text:
        if char in ALPHABET:
            out.append(char)
        elif char in REPLACEMENTS:
            out.append(REPLACEMENTS[char])
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append("".join(c for c in base if c in ALPHABET))
    return "".join(out)


def is_gsm7(text: str) -> bool:
    return all(char in ALPHABET for char in text)
