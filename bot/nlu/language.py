"""Which language a debtor writes in: Norwegian (Bokmål, Nynorsk or dialect, all answered in
Bokmål) or English, from marker words. Returns None when a message says too little to tell
("ok", "100001", "hei"), so that a short reply never flips the conversation's language.
"""

from __future__ import annotations

import re
from typing import Optional

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)

# Words that are common in debtors' messages and belong to one language only. Words shared by
# both languages ("i", "to", "ok", "så", "hallo") are left out on purpose.
NORWEGIAN = frozenset(
    """
    jeg eg æ e je meg mæ deg dæ du dokker dere vi oss han hun ho den det dette denne disse
    ikke ikkje ikkj itj inte hva kva ka hvor kor korleis hvordan hvorfor kvifor koffor når kvar
    mye mykje mange litt noe noko noen nokon kan kunne vil ville skal skulle må måtte har hadde
    er var vart blitt bli blir være vere og eller men fordi om på til fra frå med uten utan av
    etter før over under hos ved mitt min mine din ditt dine sin sitt sine vår vårt våre
    skylder skuldar skylda skyld betale betala betalt betalte betaling betalinga faktura
    fakturaen regning regninga krav kravet saken saka sak saksnummer gjeld gjelden gjelda
    renter renta rente gebyr gebyret gebyrer salær inkasso nedbetaling avdrag utsettelse
    utsetjing avtale penger pengar kroner måned måneden månaden mnd takk tusen hei heisann
    snakke snakka prate menneske saksbehandler saksbehandlar hjelp hjelpe hjelpa trenger treng
    fødselsdato født fødd fødselsnummer personnummer kontonummer norsk bokmål nynorsk
    ja jo nei greit okei skjønner forstår skjønnar hvem kven hvilken
    """.split()
)
ENGLISH = frozenset(
    """
    the you your yours my mine me we our they them he she it its this that these those
    what why how where when which who whom is are was were be been being am do does did
    doesn don't dont can't cannot could would should will shall may might must have has had
    not and or but because with without from of for about into than then there here
    owe owed owing pay paid paying payment payments debt debts claim bill invoice amount
    money balance fee fees interest plan installment instalment installments postpone delay
    please thanks thank hello hi hey bye goodbye yes yeah yep no nope sorry help want need
    speak talk person human agent robot bot english language number date birth born
    """.split()
)
NORWEGIAN_LETTERS = re.compile(r"[æøåÆØÅ]")


def detect_language(text: str) -> Optional[str]:
    """'nb', 'en' or None (not enough evidence)."""
    words = [word.lower() for word in WORD.findall(text)]
    norwegian = sum(word in NORWEGIAN for word in words) + len(NORWEGIAN_LETTERS.findall(text))
    english = sum(word in ENGLISH for word in words)
    if english >= 2 and english > 2 * norwegian:
        return "en"
    if norwegian >= 1 and norwegian > english:
        return "nb"
    return None
