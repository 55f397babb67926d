"""Column names: normalised keys, tokens with abbreviations expanded, and how alike two are.

>>> normalise("Customer No.")
'customer_no'
>>> tokens("CustNo")
('customer', 'number')
>>> round(name_similarity("Qty", "quantity"), 2)
1.0
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz.fuzz import ratio

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^0-9a-z]+")

# Abbreviations seen in real exports, to the word they stand for.
ABBREVIATIONS: dict[str, str] = {
    "qty": "quantity",
    "qte": "quantity",
    "amt": "amount",
    "no": "number",
    "nr": "number",
    "num": "number",
    "nbr": "number",
    "dt": "date",
    "desc": "description",
    "descr": "description",
    "cust": "customer",
    "addr": "address",
    "tel": "phone",
    "ph": "phone",
    "mob": "phone",
    "pct": "percent",
    "perc": "percent",
    "prc": "price",
    "tot": "total",
    "inv": "invoice",
    "acct": "account",
    "acc": "account",
    "dob": "birthdate",
    "fname": "firstname",
    "lname": "lastname",
    "mail": "email",
    "e": "email",
    "cat": "category",
    "ref": "reference",
    "id": "id",
    "pos": "position",
    "dept": "department",
    "emp": "employee",
    "org": "organisation",
    "co": "company",
    "curr": "currency",
    "ccy": "currency",
    "val": "value",
    "wt": "weight",
    "sku": "sku",
    "zip": "postcode",
    "postal": "postcode",
    "vat": "tax",
    "yr": "year",
    "mo": "month",
    "st": "street",
    "prod": "product",
    "sup": "supplier",
    "supp": "supplier",
    "vendor": "supplier",
    "msg": "message",
    "txn": "transaction",
    "trx": "transaction",
    "pmt": "payment",
    "bal": "balance",
    "ctry": "country",
    "cntry": "country",
    "url": "url",
    "www": "url",
    "web": "url",
    "website": "url",
}


# Business words of other languages (German, French, Spanish, Dutch) to the English word, so
# "Rechnungsdatum" and "Date facture" meet "invoice_date".
SYNONYMS: dict[str, str] = {
    # German
    "rechnung": "invoice", "rechnungs": "invoice", "datum": "date", "nummer": "number",
    "kunde": "customer", "kunden": "customer", "betrag": "amount", "netto": "net",
    "brutto": "total", "mwst": "tax", "ust": "tax", "steuer": "tax", "wahrung": "currency",
    "waehrung": "currency", "fallig": "due", "faellig": "due", "am": "", "buchungstag": "booking date",
    "buchung": "booking", "buchungs": "booking", "valuta": "value date", "verwendungszweck": "description",
    "saldo": "balance", "empfanger": "counterparty", "empfaenger": "counterparty", "referenz": "reference",
    "artikel": "product", "artikelnummer": "sku", "bezeichnung": "product name", "menge": "quantity",
    "anzahl": "quantity", "einzelpreis": "unit price", "stuckpreis": "unit price", "preis": "price",
    "lager": "warehouse", "mindestbestand": "reorder level", "bestand": "stock", "lieferant": "supplier",
    "personalnummer": "employee id", "mitarbeiter": "employee name", "abteilung": "department",
    "eintrittsdatum": "hire date", "eintritt": "hire", "gehalt": "salary", "aktiv": "active",
    "bestellung": "order", "bestell": "order", "rabatt": "discount", "land": "country",
    "liefer": "shipping", "lieferland": "shipping country", "vorname": "first name",
    "nachname": "last name", "firma": "company", "telefon": "phone", "ort": "city", "stadt": "city",
    "strasse": "street", "plz": "postcode", "name": "name", "beschreibung": "description",
    # French
    "facture": "invoice", "client": "customer", "montant": "amount", "ht": "net", "ttc": "total",
    "tva": "tax", "devise": "currency", "echeance": "due", "prenom": "first name", "nom": "last name",
    "societe": "company", "pays": "country", "quantite": "quantity", "prix": "price",
    "fournisseur": "supplier", "commande": "order", "remise": "discount", "solde": "balance",
    "libelle": "description", "entrepot": "warehouse", "salaire": "salary", "embauche": "hire",
    # Spanish
    "fecha": "date", "factura": "invoice", "cliente": "customer", "importe": "amount",
    "cantidad": "quantity", "precio": "price", "proveedor": "supplier", "pedido": "order",
    "descuento": "discount", "pais": "country", "empresa": "company", "correo": "email",
    # Dutch
    "bedrag": "amount", "klant": "customer", "factuur": "invoice",
    # English words that name the same thing
    "vendor": "supplier", "payee": "counterparty", "memo": "description", "vat": "tax",
    "surname": "last name", "given": "first", "homepage": "website", "site": "website",
    "buyer": "customer", "qty": "quantity", "pay": "salary",
    "dept": "department", "division": "department", "mobile": "phone", "cell": "phone",
    "item": "product", "desc": "description",
}  # fmt: skip
# Word endings of compounds worth splitting off ("Rechnungsdatum" = rechnungs + datum).
_COMPOUND_TAILS = ("datum", "nummer", "name", "preis", "betrag", "land", "tag", "menge", "bestand")


def _split_compound(word: str) -> list[str]:
    for tail in _COMPOUND_TAILS:
        if len(word) > len(tail) + 3 and word.endswith(tail):
            return [word[: -len(tail)], tail]
    return [word]


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65_536)
def normalise(name: str) -> str:
    """The key a column is known by: ASCII, lower case, words joined by ``_``."""
    spaced = _CAMEL.sub(" ", _ascii(name.strip()))
    return _NON_WORD.sub("_", spaced.lower()).strip("_")


@lru_cache(maxsize=65_536)
def tokens(name: str) -> tuple[str, ...]:
    """The words of a name, abbreviations expanded (``CustNo`` → customer, number)."""
    key = normalise(name)
    out: list[str] = []
    for word in key.split("_"):
        if not word:
            continue
        parts = [word] if word in SYNONYMS else _split_compound(word)
        for part in parts:
            english = SYNONYMS.get(part)
            if english is not None:
                out.extend(w for w in english.split() if w)
            else:
                out.append(ABBREVIATIONS.get(part, part))
    return tuple(out)


def _edit_ratio(a: str, b: str) -> float:
    """Normalised Indel similarity (difflib's ratio, in C: rapidfuzz)."""
    return ratio(a, b) / 100.0


@lru_cache(maxsize=262_144)
def name_similarity(a: str, b: str) -> float:
    """0..1: token overlap (abbreviations expanded) blended with edit distance of the keys.

    Equal keys or equal token sets are 1.0; tokens that are prefixes of each other count
    (``desc`` ~ ``description``)."""
    ka, kb = normalise(a), normalise(b)
    if ka == kb:
        return 1.0
    ta, tb = set(tokens(a)), set(tokens(b))
    if ta and ta == tb:
        return 1.0
    joined_a, joined_b = "".join(sorted(ta)), "".join(sorted(tb))
    if joined_a and joined_a == joined_b:
        return 0.95
    overlap = 0.0
    if ta and tb:
        hits = sum(1 for t in ta if t in tb or any(_prefix(t, u) for u in tb))
        overlap = hits / max(len(ta), len(tb))
    edit = max(_edit_ratio(ka, kb), _edit_ratio("".join(tokens(a)), "".join(tokens(b))))
    return max(overlap * 0.9 + edit * 0.1, edit * 0.85)


def _prefix(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 3 and long.startswith(short)
