"""``page_needs_ocr``: missing, thin and garbled text layers go to OCR; real text never does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestd.pipeline.ocr import garbled_share, page_needs_ocr
from ingestd.pipeline.ocr._decision import CHARS_PER_INK, MIN_INK

BODY_INK_PER_CHAR = 1 / 22_000  # 11 pt body text, measured on rendered pages
SCAN_INK = 0.08  # a scanned page of body text

# Real words in several scripts: a text layer made of these is text, however it is mixed.
WORDS = {
    "latin": ["Revenue", "grew", "12 %", "in", "Q3", "café", "naïve", "Straße", "œuvre", "—"],
    "greek": ["Τα", "έσοδα", "αυξήθηκαν", "κατά", "δώδεκα"],  # noqa: RUF001
    "cyrillic": ["Выручка", "выросла", "на", "двенадцать", "процентов"],
    "cjk": ["收入增长了百分之十二", "第三季度", "報告書", "売上高"],
    "arabic": ["ارتفعت", "الإيرادات", "بنسبة", "اثني", "عشر"],
    "devanagari": ["राजस्व", "में", "बारह", "प्रतिशत", "वृद्धि"],
    "numbers": ["1,204.50", "€ 3.2m", "2024-03-31", "(17)", "n/a", "#42", "x = y + 2"],
}


def body(words: list[str]) -> str:
    return " ".join(words)


@st.composite
def real_pages(draw: st.DrawFn) -> tuple[str, float]:
    """A text page in any mix of scripts, with the ink such a page carries (or less)."""
    script = st.sampled_from(sorted(WORDS))
    words = draw(
        st.lists(script.flatmap(lambda s: st.sampled_from(WORDS[s])), min_size=8, max_size=400)
    )
    text = body(words)
    visible = sum(not ch.isspace() for ch in text)
    ink = visible * draw(st.floats(0, 1)) * BODY_INK_PER_CHAR * 5  # up to 5x denser than body
    return text, ink


@settings(max_examples=300, deadline=None)
@given(real_pages())
def test_real_text_is_never_ocrd(page: tuple[str, float]) -> None:
    text, ink = page
    assert page_needs_ocr(text, char_boxes=len(text), ink_ratio=ink) is None


@pytest.mark.parametrize(
    ("text", "ink"),
    [
        ("Quarterly report", 0.004),  # a title page
        ("7", 0.0001),  # a blank page with its page number
        ("", 0.0),  # an empty page
        ("", MIN_INK / 2),  # a speck of dust on an empty page
        ("Annual Report 2024", 0.0082),  # 36 pt title, measured
        ("Q3 Results Revenue up 12% Costs down 3% Two new offices", 0.0141),  # a slide, measured
    ],
)
def test_pages_that_need_no_ocr(text: str, ink: float) -> None:
    assert page_needs_ocr(text, char_boxes=len(text), ink_ratio=ink) is None


def test_a_scan_without_text_layer() -> None:
    assert page_needs_ocr("", char_boxes=0, ink_ratio=SCAN_INK) == "no_text_layer"
    assert page_needs_ocr(" \n\n ", char_boxes=3, ink_ratio=SCAN_INK) == "no_text_layer"


@pytest.mark.parametrize(
    "text",
    [
        "Scanned by ACME",  # the three-word invisible layer a scanner leaves
        "12",  # only the page number
        "CONFIDENTIAL",  # only a stamp
    ],
)
def test_a_thin_text_layer_on_an_inked_page(text: str) -> None:
    assert page_needs_ocr(text, char_boxes=len(text), ink_ratio=SCAN_INK) == "thin_text_layer"


@given(st.floats(MIN_INK, 1.0), st.integers(0, 10_000))
def test_thin_is_exactly_too_few_characters_for_the_ink(ink: float, chars: int) -> None:
    text = "a" * chars
    reason = page_needs_ocr(text, char_boxes=chars, ink_ratio=ink)
    assert (reason == "thin_text_layer") == (0 < chars < ink * CHARS_PER_INK)


GARBLED = {
    "cid": "(cid:3)(cid:71)(cid:72)(cid:89) (cid:85)(cid:72)(cid:83)(cid:82)(cid:85)(cid:87) " * 4,
    "private_use": "Revenue \ue000\ue001\ue002\ue003 grew \ue010\ue011\ue012\ue013\ue014 in Q3",
    "replacement": "Rev\ufffd\ufffdue gr\ufffdw \ufffd\ufffd\ufffd in \ufffd\ufffd and costs f\ufffdll",
    "mojibake": "FranÃ§ais donâ€™t Ã©tÃ© rÃ©sumÃ© naÃ¯ve cafÃ© dÃ©jÃ  vu â€œquotedâ€\x9d",
    "controls": "Rev\x01\x02enue \x03\x04grew \x05\x06 in \x07\x08 Q3 and \x0e\x0f costs fell",
    "symbol_soup": "!\"#$ %&'( )*+, -./: ;<=> ?@[\\ ]^_` {|}~ !\"#$ %&'( )*+, -./: ;<=>",
}


@pytest.mark.parametrize("kind", sorted(GARBLED))
def test_garbled_text_layers(kind: str) -> None:
    text = GARBLED[kind]
    assert page_needs_ocr(text, char_boxes=len(text), ink_ratio=0.05) == "garbled"


def test_a_short_cid_run_is_garbled_too() -> None:
    assert page_needs_ocr("(cid:12)", char_boxes=1, ink_ratio=0.0005) == "garbled"


def test_glyphs_without_characters_are_a_broken_font() -> None:
    # pdfium places 500 glyphs but none maps to a character: not a scan, a font without ToUnicode
    assert page_needs_ocr("", char_boxes=500, ink_ratio=0.06) == "garbled"
    assert page_needs_ocr("ab", char_boxes=500, ink_ratio=0.06) == "garbled"


@settings(max_examples=200, deadline=None)
@given(real_pages(), st.sampled_from(["\ue000", "\ufffd", "(cid:9)", "Ã©", "\x02"]), st.data())
def test_junk_spread_through_real_text_is_garbled(
    page: tuple[str, float], junk: str, data: st.DataObject
) -> None:
    text, ink = page
    words = text.split(" ")
    # one junk token after every word: far above the garble threshold
    mixed = " ".join(f"{word}{junk * data.draw(st.integers(2, 4))}" for word in words)
    assert page_needs_ocr(mixed, char_boxes=len(mixed), ink_ratio=ink) == "garbled"


def test_garbled_share_of_clean_text_is_zero() -> None:
    assert garbled_share(body(WORDS["latin"] * 5)) == 0.0
    assert garbled_share(body(WORDS["cjk"] * 5)) == 0.0


def test_mojibake_in_otherwise_clean_text_is_garbled() -> None:
    french = (
        "Le conseil a voté le budget pour la saison suivante, avec des contrats signés par "
        "les clients du nord et du sud, et les paiements sont arrivés dans les trente jours. "
    ) * 6
    broken = french.encode("utf-8").decode("cp1252")
    assert garbled_share(broken) < 0.1  # few junk characters …
    assert page_needs_ocr(broken, char_boxes=len(broken), ink_ratio=0.02) == "garbled"  # … still
    assert page_needs_ocr(french, char_boxes=len(french), ink_ratio=0.02) is None
