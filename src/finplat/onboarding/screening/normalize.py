"""Names to comparable tokens, and the phonetic gate that decides which tokens are compared.

`normalize_name` transliterates to ASCII (anyascii: Arabic, Cyrillic, Hangul, Han, and
diacritics), upper-cases, joins on apostrophes and dots ("O'Brien" -> OBRIEN, "S.A." -> SA),
splits on every other mark (hyphens included), drops honorifics from person names and legal
forms and filler words from entity names, and joins an Arabic article to the word it belongs
to: "Al-Qaida", "AL QAIDA" and "ALQAIDA" all become ALQAIDA.

`phonetic_key` is a consonant skeleton: letters that transliterations swap (B/P/F/V, C/G/J/K/Q,
S/Z/X, D/T) share a class, vowels, H and W drop out, a leading vowel sound becomes "A", and a
doubled letter counts once. Two tokens are *compatible* when some key of one is at most one
edit from some key of the other, tested as "their deletion neighbourhoods intersect" (a key
plus every one-symbol deletion of it). Missing diacritics never change a key, and a one-letter
typo changes it by at most one symbol, so both pass; the neighbourhoods are also what the
matcher's index is built on.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from anyascii import anyascii


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Person-name words that say what someone is, not who: titles, ranks, religious honorifics.
HONORIFICS: Final = _words(
    """
    MR MRS MS MISS MX DR DOCTOR PROF PROFESSOR SIR DAME LORD LADY MADAM MADAME MME MLLE
    MONSIEUR SENOR SENORA JR JNR SNR SR II III IV ESQ HON REV REVEREND
    SHEIKH SHEIK SHAIKH SHAYKH SHEIKHA SHAIKHA SYEKH HAJJI HAJI HADJI HAJ HAJJ HADJ ALHAJI
    ALHAJ ALHADJ MULLAH MULLA MOLLAH MAULVI MOULVI MOLVI MAWLAWI MAULAWI MAWLAVI MAULAVI
    MAULANA MAWLANA QARI USTAZ USTADH
    GENERAL GEN GENL LIEUTENANT LT COLONEL COL MAJOR MAJ CAPTAIN CAPT CPT COMMANDER CMDR CDR
    COMMANDANT SERGEANT SGT CORPORAL CPL BRIGADIER ADMIRAL MARSHAL
    PRESIDENT MINISTER AMBASSADOR SENATOR GOVERNOR
    """
)

#: Entity-name words that describe a legal form rather than name the entity.
LEGAL_FORMS: Final = _words(
    """
    LTD LIMITED LLC LLP LP INC INCORPORATED CORP CORPORATION CO COMPANY CIA PLC
    GMBH MBH AG KG SA SAS SARL SRL SRO SPA BV NV OY OYJ AB ASA PTE PTY PVT
    JSC OJSC CJSC PJSC PAO OAO ZAO OOO TOO LTDA SDN BHD KK FZE FZCO FZC FZLLC DMCC
    """
)

#: Words that join the parts of an entity name and carry no identity.
ENTITY_FILLERS: Final = _words(
    "THE OF AND FOR IN ON AT TO BY ET Y DE DU DES LA LE LES DEL DER DIE DAS UND"
)

#: Multi-word legal forms; each holds a LEGAL_FORMS word, so removal is idempotent.
LEGAL_PHRASES: Final = (
    ("LIMITED", "LIABILITY", "COMPANY"),
    ("OPEN", "JOINT", "STOCK", "COMPANY"),
    ("CLOSED", "JOINT", "STOCK", "COMPANY"),
    ("PUBLIC", "JOINT", "STOCK", "COMPANY"),
    ("PRIVATE", "JOINT", "STOCK", "COMPANY"),
    ("JOINT", "STOCK", "COMPANY"),
    ("PUBLIC", "LIMITED", "COMPANY"),
    ("PRIVATE", "LIMITED", "COMPANY"),
    ("SOCIEDAD", "ANONIMA", "SA"),
)

#: Name particles: they join names rather than identify anyone, so they weigh less.
PARTICLES: Final = _words(
    "ABU ABD BIN BEN IBN BINT BINTI UMM OULD WALD VAN VON DER DEN DE DI DA DU DOS DAS DEL LA LE"
    " AL EL"
)

#: Arabic articles always joined to the next word ("al-Baghdadi" -> ALBAGHDADI).
ARTICLES: Final = frozenset({"AL", "EL", "UL"})
#: Assimilated articles ("ar-Rahman", "as-Sayed"), joined only before their own sound.
SUN_ARTICLES: Final = {
    "AT": "T",
    "ATH": "TH",
    "AD": "D",
    "ADH": "DH",
    "AR": "R",
    "AZ": "Z",
    "AS": "S",
    "ASH": "SH",
    "AN": "N",
}

_JOINERS = re.compile(r"['`.]")
_SEPARATORS = re.compile(r"[^A-Z0-9]+")


def normalize_name(name: str, kind: str = "person") -> tuple[str, ...]:
    """Comparable tokens of a name, in the name's order. `kind` "person" drops honorifics;
    any other kind drops legal forms and filler words. Order carries no meaning downstream."""
    text = anyascii(name).upper().replace("&", " AND ")
    tokens = [t for t in _SEPARATORS.split(_JOINERS.sub("", text)) if t]
    # Removing words can bring an article next to a word, and joining can leave noise
    # alone: repeat until nothing changes, which makes normalising twice a no-op. Each
    # round that changes anything shortens the list, so this ends.
    while True:
        before = tokens
        if kind == "person":
            tokens = _without(tokens, HONORIFICS)
        else:
            tokens = _without(_without_phrases(tokens), LEGAL_FORMS | ENTITY_FILLERS)
        tokens = _join_articles(tokens)
        if tokens == before:
            return tuple(tokens)


def _without(tokens: list[str], noise: frozenset[str]) -> list[str]:
    kept = [t for t in tokens if t not in noise]
    return kept or tokens  # a name made only of noise ("General") keeps its words


def _without_phrases(tokens: list[str]) -> list[str]:
    changed = True
    while changed:
        changed = False
        for phrase in LEGAL_PHRASES:
            width = len(phrase)
            for start in range(len(tokens) - width + 1):
                if tuple(tokens[start : start + width]) == phrase and len(tokens) > width:
                    tokens = tokens[:start] + tokens[start + width :]
                    changed = True
                    break
    return tokens


def _join_articles(tokens: list[str]) -> list[str]:
    joined: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if i + 1 < len(tokens):
            following = tokens[i + 1]
            sound = SUN_ARTICLES.get(token)
            if token in ARTICLES or (sound is not None and following.startswith(sound)):
                joined.append(token + following)
                i += 2
                continue
        joined.append(token)
        i += 1
    return joined


_CLASSES: Final = {
    **dict.fromkeys("BPFV", "B"),
    **dict.fromkeys("CGJKQ", "K"),
    **dict.fromkeys("SZX", "S"),
    **dict.fromkeys("DT", "T"),
    "L": "L",
    "M": "M",
    "N": "N",
    "R": "R",
}
_VOWELS: Final = frozenset("AEIOUY")
_TRANSPARENT: Final = frozenset("HW")
_ARTICLE_PREFIXES: Final = ("AL", "EL", "UL")


def phonetic_key(token: str, *, collapse_doubles: bool = True) -> str:
    """Consonant-class skeleton of one normalised token: MOHAMMED -> MMT, QADHAFI -> KTB,
    YUSUF -> ASB. A doubled letter counts once unless `collapse_doubles` is false; never
    empty."""
    codes: list[str] = []
    last = ""
    for position, letter in enumerate(token.upper()):
        if collapse_doubles and letter == last:
            continue
        last = letter
        if letter in _VOWELS or letter in _TRANSPARENT:
            if position == 0:
                codes.append("A")  # a leading vowel sound: OMAR ~ UMAR ~ HUMAR
            continue
        codes.append(_CLASSES.get(letter, letter))  # digits stand for themselves
    return "".join(codes) or "A"


def phonetic_keys(token: str) -> tuple[str, ...]:
    """Every key the gate compares: the token's key; for a token with a doubled letter also
    the key that keeps it (a letter typed inside a double, HASXSAN, is then one edit from
    HASSAN); and the same without a fused Arabic article (ALQAIDA ~ QAIDA)."""
    forms = (token, strip_article(token))
    keys = [
        phonetic_key(form, collapse_doubles=collapse)
        for form in dict.fromkeys(forms)
        for collapse in (True, False)
    ]
    return tuple(dict.fromkeys(keys))


def strip_article(token: str) -> str:
    """ALBAGHDADI -> BAGHDADI; short tokens (ALI, ELIA) are left alone."""
    if len(token) >= 5 and token.startswith(_ARTICLE_PREFIXES):
        return token[2:]
    return token


def neighbourhood(key: str) -> frozenset[str]:
    """The key and each of its one-symbol deletions."""
    return frozenset({key, *(key[:i] + key[i + 1 :] for i in range(len(key)))})


@lru_cache(maxsize=65536)
def gate_variants(token: str) -> frozenset[str]:
    """Union of the neighbourhoods of the token's keys: the values the index files it under."""
    variants: frozenset[str] = frozenset()
    for key in phonetic_keys(token):
        variants |= neighbourhood(key)
    return variants


def compatible(a: str, b: str) -> bool:
    """The phonetic gate: only compatible token pairs are scored at all."""
    return not gate_variants(a).isdisjoint(gate_variants(b))
