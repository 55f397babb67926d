"""Chunking: invariants (property-based), boundary preferences, overlap and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestd.domain.documents import Chunk, Element, ElementKind
from ingestd.pipeline.chunk import SEPARATOR, chunk_elements

KINDS: list[ElementKind] = ["title", "heading", "paragraph", "list_item", "table", "code", "notes"]


def doc_text(elements: Sequence[Element]) -> str:
    return SEPARATOR.join(e.text for e in elements)


def assert_invariants(
    elements: Sequence[Element], chunks: list[Chunk], size: int, overlap: int
) -> None:
    """Every property the chunker promises, checked against the joined document text."""
    text = doc_text(elements)
    covered_to = 0
    previous: Chunk | None = None
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert chunk.text == text[chunk.start : chunk.end]
        assert 1 <= len(chunk.text) <= size
        assert chunk.text.strip() == chunk.text, "no leading/trailing whitespace, never blank"
        assert not text[covered_to : chunk.start].strip(), "non-whitespace text skipped"
        covered_to = max(covered_to, chunk.end)
        first, end = chunk.metadata["element_start"], chunk.metadata["element_end"]
        assert 0 <= first < end <= len(elements)
        if previous is not None:
            assert chunk.start > previous.start and chunk.end > previous.end, "in order"
            assert previous.end - chunk.start <= overlap, "overlap bounded"
        previous = chunk
    assert not text[covered_to:].strip(), "trailing non-whitespace text skipped"


# -- validation and trivial inputs ------------------------------------------------------------


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (-5, 0), (10, 10), (10, 11), (10, -1)])
def test_rejects_bad_size_or_overlap(size: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        chunk_elements([Element("paragraph", "hello")], size=size, overlap=overlap)


def test_no_elements_or_only_blank_ones_give_no_chunks() -> None:
    assert chunk_elements([]) == []
    assert chunk_elements([Element("paragraph", ""), Element("paragraph", "  \n\t ")]) == []


def test_short_document_is_one_chunk_with_exact_offsets() -> None:
    elements = [Element("heading", "Title", page=1), Element("paragraph", "  Body text.  ")]
    [chunk] = chunk_elements(elements)
    assert chunk.text == "Title\n\n  Body text."
    assert (chunk.start, chunk.end) == (0, len(chunk.text))


def test_size_one_works() -> None:
    chunks = chunk_elements([Element("paragraph", "ab c")], size=1, overlap=0)
    assert [c.text for c in chunks] == ["a", "b", "c"]


# -- property-based invariants ----------------------------------------------------------------

_alphabet = st.sampled_from([*"abcdefg xyz ..!?\n\n\t。é字", "  ", "\n", ". ", "| "])
_texts = st.lists(_alphabet, max_size=120).map("".join)
_elements = st.builds(
    Element,
    kind=st.sampled_from(KINDS),
    text=_texts,
    page=st.one_of(st.none(), st.integers(1, 5)),
    section=st.sampled_from([None, "A", "B"]),
)


@st.composite
def _size_and_overlap(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 200))
    return size, draw(st.integers(0, size - 1))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elements=st.lists(_elements, max_size=12), size_overlap=_size_and_overlap())
def test_invariants_hold_for_any_input(
    elements: list[Element], size_overlap: tuple[int, int]
) -> None:
    size, overlap = size_overlap
    assert_invariants(elements, chunk_elements(elements, size=size, overlap=overlap), size, overlap)


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.text("abcdefghij", min_size=1, max_size=12), min_size=1, max_size=400),
    size_overlap=_size_and_overlap(),
)
def test_invariants_hold_for_long_prose(words: list[str], size_overlap: tuple[int, int]) -> None:
    size, overlap = size_overlap
    elements = [Element("paragraph", " ".join(words))]
    assert_invariants(elements, chunk_elements(elements, size=size, overlap=overlap), size, overlap)


# -- boundary preferences ---------------------------------------------------------------------


def _sentences(n: int, words: int = 8) -> str:
    return " ".join(f"Sentence {i} " + " ".join(["word"] * words) + "." for i in range(n))


def test_prefers_sentence_ends() -> None:
    elements = [Element("paragraph", _sentences(40))]
    chunks = chunk_elements(elements, size=200, overlap=0)
    assert len(chunks) > 3
    assert all(c.text.endswith(".") for c in chunks)
    assert all(c.text.startswith("Sentence") for c in chunks)


def test_cjk_sentence_ends_need_no_space() -> None:
    text = "".join(f"这是第{i}个句子我们继续写一些文字。" for i in range(30))
    chunks = chunk_elements([Element("paragraph", text)], size=60, overlap=0)
    assert len(chunks) > 3
    assert all(c.text.endswith("。") for c in chunks)


def test_falls_back_to_word_boundaries() -> None:
    text = " ".join(f"w{i:03d}" for i in range(300))  # no punctuation, no line breaks
    chunks = chunk_elements([Element("paragraph", text)], size=50, overlap=10)
    for c in chunks:
        assert c.end == len(text) or text[c.end] == " ", "a word was split"
        assert c.start == 0 or text[c.start - 1] == " ", "overlap starts mid-word"


def test_hard_cut_only_without_any_boundary() -> None:
    text = "x" * 250
    chunks = chunk_elements([Element("code", text)], size=100, overlap=0)
    assert [len(c.text) for c in chunks] == [100, 100, 50]


def test_prefers_element_boundaries() -> None:
    first, second = _sentences(12), _sentences(12)
    elements = [Element("paragraph", first), Element("paragraph", second)]
    assert 500 < len(first) < 1000 and len(first) + len(second) > 1000
    chunks = chunk_elements(elements, size=1000, overlap=200)
    assert chunks[0].text == first
    assert chunks[-1].text.endswith(second)


def test_paragraph_breaks_inside_an_element() -> None:
    para = _sentences(3)
    text = f"{para}\n\n{para}\n\n{para}\n\n{para}"
    chunks = chunk_elements([Element("paragraph", text)], size=len(para) * 2 + 10, overlap=0)
    assert chunks[0].text == f"{para}\n\n{para}"


def test_closes_chunk_before_a_new_section_once_reasonably_full() -> None:
    elements = [
        Element("heading", "Alpha", section=None),
        Element("paragraph", _sentences(8), section="Alpha"),
        Element("heading", "Beta", section="Alpha"),
        Element("paragraph", _sentences(2), section="Beta"),
    ]
    assert len(doc_text(elements)) < 1000
    chunks = chunk_elements(elements, size=1000, overlap=200)
    assert [c.text.split("\n\n")[0] for c in chunks] == ["Alpha", "Beta"]
    assert chunks[1].start > chunks[0].end, "no overlap reaches back into the previous section"
    assert [c.metadata["section"] for c in chunks] == [["Alpha"], ["Beta"]]


def test_small_sections_are_merged() -> None:
    elements = [
        Element("heading", "Alpha"),
        Element("paragraph", "Short.", section="Alpha"),
        Element("heading", "Beta", section="Alpha"),
        Element("paragraph", "Also short.", section="Beta"),
    ]
    [chunk] = chunk_elements(elements, size=1000)
    assert chunk.metadata["kinds"] == ["heading", "paragraph"]


def test_tables_break_between_rows() -> None:
    rows = [f"| row {i} | value {i} | note. more text |" for i in range(60)]
    table = "\n".join(rows)
    chunks = chunk_elements([Element("table", table)], size=150, overlap=40)
    assert len(chunks) > 5
    row_set = set(rows)
    for c in chunks[:-1]:
        assert c.text.split("\n")[-1] in row_set, "chunk ends mid-row"
        assert table[c.end] == "\n"


def test_overlap_is_roughly_the_requested_amount_and_starts_at_a_sentence() -> None:
    elements = [Element("paragraph", _sentences(60))]
    chunks = chunk_elements(elements, size=400, overlap=100)
    overlaps = [a.end - b.start for a, b in pairwise(chunks)]
    assert all(0 < o <= 100 for o in overlaps)
    assert sum(overlaps) / len(overlaps) > 40
    assert all(c.text.startswith("Sentence") for c in chunks)


def test_zero_overlap_means_disjoint_chunks() -> None:
    chunks = chunk_elements([Element("paragraph", _sentences(50))], size=300, overlap=0)
    assert all(a.end <= b.start for a, b in pairwise(chunks))


# -- metadata ---------------------------------------------------------------------------------


def test_metadata_pages_section_kinds_and_element_range() -> None:
    elements = [
        Element("heading", "Intro", page=1, section=None, meta={"level": 1}),
        Element("paragraph", "First page text.", page=1, section="Intro"),
        Element("list_item", "An item on page two.", page=2, section="Intro"),
        Element("paragraph", "", page=3, section="Intro"),  # blank: does not count
    ]
    [chunk] = chunk_elements(elements)
    meta = chunk.metadata
    assert meta["page"] == 1
    assert meta["pages"] == [1, 2]
    assert meta["section"] == ["Intro"]
    assert meta["kinds"] == ["heading", "list_item", "paragraph"]
    assert (meta["element_start"], meta["element_end"]) == (0, 3)
    assert "level" not in meta


def test_single_page_chunk_has_no_pages_and_passes_sheet_through() -> None:
    elements = [
        Element("table", "a | b\n1 | 2", page=2, meta={"sheet": "Totals", "rows": [[1, 2]]}),
    ]
    [chunk] = chunk_elements(elements)
    assert chunk.metadata["page"] == 2
    assert "pages" not in chunk.metadata
    assert chunk.metadata["sheet"] == "Totals"
    assert "rows" not in chunk.metadata, "only scalar meta is copied"
    assert chunk.metadata["section"] == []
    assert chunk.metadata["element_ids"] == []


def test_element_range_follows_chunks() -> None:
    elements = [Element("paragraph", _sentences(5), page=i) for i in range(1, 6)]
    chunks = chunk_elements(elements, size=300, overlap=50)
    text = doc_text(elements)
    for c in chunks:
        first, end = c.metadata["element_start"], c.metadata["element_end"]
        starts = [len(SEPARATOR.join(e.text for e in elements[:k])) for k in range(len(elements))]
        assert starts[first] <= c.start
        assert end == len(elements) or starts[end] >= c.end
        assert c.metadata["page"] == first + 1
        assert text[c.start : c.end] == c.text


def test_a_large_document_keeps_every_invariant() -> None:
    # Speed (MB/s) is measured in bench/chunk_embed.py; a timing assertion here would flake.
    paragraph = _sentences(12)
    elements = [Element("paragraph", paragraph, page=i // 10) for i in range(4000)]
    assert len(doc_text(elements)) > 2_000_000
    chunks = chunk_elements(elements)
    assert_invariants(elements, chunks, 1000, 200)


def test_chunks_name_the_elements_they_cover_and_their_section_path() -> None:
    from ingestd.domain.documents import assemble

    document = assemble(
        [
            Element("heading", "Results", level=1),
            Element("heading", "North", level=2),
            Element("paragraph", _sentences(4)),
            Element("paragraph", ""),  # blank: covered by no chunk's ids
            Element("paragraph", _sentences(30)),
        ]
    )
    chunks = chunk_elements(document.elements, size=400, overlap=50)
    assert chunks[0].metadata["element_ids"] == ["e1", "e2", "e3"]
    assert chunks[0].metadata["section"] == ["Results", "North"]
    assert all("e5" in c.metadata["element_ids"] for c in chunks[1:])
    assert chunks[-1].metadata["element_ids"] == ["e5"]
