"""Structure-aware chunking: one section per chunk, headings kept with what follows, table rows
and list items whole, sizes in characters or in real tokens; and the size chunker in tokens."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from ingestd.domain.documents import Cell, Element, Table, assemble, table_to_text
from ingestd.pipeline.chunk_structure import chunk_by_units
from ingestd.pipeline.tokens import counter


def sample() -> list[Element]:
    table = Table(
        (
            (Cell("Region"), Cell("Q1"), Cell("Q2")),
            *((Cell(f"Region {i}"), Cell(str(i)), Cell(str(i * 2))) for i in range(30)),
        ),
        header_rows=1,
        caption="Table 1. Sales",
    )
    elements = [
        Element("title", "Annual report", page=1),
        Element("heading", "Results", level=1, page=1),
        Element("paragraph", "Sales grew in every region. " * 3, page=1),
        Element("list_item", "North led the growth with a new store.", level=1, page=1),
        Element("list_item", "South followed after the summer.", level=1, page=2),
        Element("heading", "Tables", level=1, page=2),
        Element("table", table_to_text(table), table=table, page=2),
        Element("heading", "Outlook", level=1, page=3),
        Element("heading", "Risks", level=2, page=3),
        Element("paragraph", "Costs may rise. Demand may fall.", page=3),
    ]
    return assemble(elements).elements


def test_chunks_follow_the_structure() -> None:
    elements = sample()
    text = "\n\n".join(e.text for e in elements)
    chunks = chunk_by_units(elements, size=300, overlap=0)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        # never two sections in one chunk
        ids = chunk.metadata["element_ids"]
        sections = {
            tuple(e.section) for e in elements if e.id in ids and e.kind not in ("title", "heading")
        }
        assert len(sections) <= 1, chunk.text
        # a heading never ends a chunk
        assert not any(
            chunk.text.rstrip().endswith(e.text) for e in elements if e.kind == "heading"
        )
        assert chunk.metadata["section_path"] == " > ".join(chunk.metadata["section"])
    # table rows are whole lines, each in one chunk, the caption and header with the first row
    rows = [line for line in elements[6].text.splitlines() if line.startswith("Region: ")]
    for row in rows:
        assert any(row in c.text.splitlines() for c in chunks), row
    first_table = next(c for c in chunks if "Table 1. Sales" in c.text)
    assert "Region | Q1 | Q2" in first_table.text and "Region: Region 0" in first_table.text
    # both list items stay whole; a chunk spanning pages says so
    lists = next(c for c in chunks if "North led" in c.text)
    assert "North led the growth with a new store." in lists.text
    assert any(c.metadata.get("pages") == [1, 2] for c in chunks)
    # the nested heading path
    risks = next(c for c in chunks if "Costs may rise" in c.text)
    assert risks.metadata["section"] == ["Annual report", "Outlook", "Risks"]
    assert risks.text.startswith("Outlook")  # both headings above it, kept with it


def test_overlap_repeats_whole_units_within_a_section_only() -> None:
    elements = sample()
    chunks = chunk_by_units(elements, size=200, overlap=80)
    table_chunks = [c for c in chunks if "Region: " in c.text]
    assert len(table_chunks) > 2
    for a, b in pairwise(table_chunks):
        assert b.start < a.end <= b.end  # they overlap…
        shared = a.text[b.start - a.start :]
        assert (
            len(shared) <= 80
            and shared.splitlines() == b.text.splitlines()[: shared.count("\n") + 1]
        )
        assert all(line.startswith("Region: ") for line in shared.splitlines())  # …by whole rows
    outlook = next(c for c in chunks if "Costs may rise" in c.text)
    assert "Region" not in outlook.text


def test_tokens_are_counted_by_the_bundled_tokenizer() -> None:
    elements = sample()
    count = counter()
    chunks = chunk_by_units(elements, size=64, overlap=0, unit="tokens")
    assert len(chunks) > 3
    headed = 0
    for chunk in chunks:
        tokens = count([chunk.text])[0]
        headings = sum(
            count([e.text])[0]
            for e in elements
            if e.kind in ("title", "heading") and e.text in chunk.text
        )
        assert tokens <= 64 + headings  # a chunk passes the size only by the headings it carries
        headed += headings > 0
    assert headed
    assert count(["Sales grew in every region."]) == [6]


def test_size_chunking_in_tokens_packs_sentences() -> None:
    elements = sample()
    count = counter()
    chunks = chunk_by_units(elements, size=40, overlap=10, unit="tokens", structure=False)
    for chunk in chunks:
        assert count([chunk.text])[0] <= 40
    joined = " ".join(c.text for c in chunks)
    assert "Costs may rise." in joined and "Region: Region 29" in joined


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["heading", "paragraph", "list_item"]),
            st.text(alphabet="abc de.\n", min_size=1, max_size=400),
        ),
        min_size=1,
        max_size=20,
    ),
    st.integers(min_value=20, max_value=300),
)
def test_every_word_is_in_some_chunk(parts: list[tuple[str, str]], size: int) -> None:
    elements = assemble(
        [Element(kind, text, level=1 if kind != "paragraph" else None) for kind, text in parts]  # type: ignore[arg-type]
    ).elements
    text = "\n\n".join(e.text for e in elements)
    chunks = chunk_by_units(elements, size=size, overlap=size // 4)
    covered = [False] * len(text)
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end] and chunk.text.strip()
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(text) if not ch.isspace())
