"""Search over HTTP, on SQLite and PostgreSQL: real jobs whose documents are written here, ranked
by vectors (``full``) and by words (``extract``), scoped to the caller's tenant."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from reportlab.pdfgen import canvas

from ingestd.services import search as search_service
from ingestd.store.tables import chunks
from tests.conftest import App

# Small chunks, so every document has several and the right one must win inside its file too.
OPTIONS = {"chunk_size": 200, "chunk_overlap": 20}
NEEDLE = "Reefing the mainsail early keeps the boat upright when a squall arrives."
QUERY = "reefing the mainsail in a squall"
TOPICS = {
    "bread.md": "Sourdough bread needs a lively starter, strong flour, water and salt. "
    "Fold the dough every half hour, then let it proof overnight in a cool place. "
    "Bake in a hot Dutch oven so the crust blisters and the crumb stays open. ",
    "stars.md": "A small telescope shows the rings of Saturn and the moons of Jupiter. "
    "Dark skies far from city lights reveal the Andromeda galaxy and faint nebulae. "
    "Let your eyes adapt for twenty minutes before you judge what you can see. ",
    "garden.md": "Tomatoes want full sun, deep watering and a stake to climb. "
    "Pinch out the side shoots so the plant puts its energy into fruit. "
    "Compost and mulch keep the soil moist through the dry weeks of summer. ",
}


def write_corpus(folder: Path) -> None:
    """Three unrelated topics, and a sailing guide with the needle in one of its chunks."""
    for name, paragraph in TOPICS.items():
        (folder / name).write_text(f"# {name[:-3].title()}\n\n" + paragraph * 3)
    sailing = [
        "Check the forecast and the tide tables before you leave the harbour.",
        "Coil every line and stow the fenders once you are clear of the pontoon.",
        NEEDLE,
        "Keep a lookout to leeward, where the genoa hides approaching traffic.",
    ]
    (folder / "sailing.md").write_text("# Sailing\n\n" + "\n\n".join(sailing))


LOG_FILLER = [
    "Routine entry written in the notebook of the voyage.",
    "Nothing else of note was recorded for this watch.",
    "Crew rested and ate together in the cockpit at noon.",
]


def write_pdf(path: Path, days: list[str]) -> None:
    """A page per day, its line amid filler: the day's chunk starts on that page."""
    pdf = canvas.Canvas(str(path))
    for day in days:
        for i, line in enumerate([*LOG_FILLER, day, *LOG_FILLER]):
            pdf.drawString(72, 750 - 16 * i, line)
        pdf.showPage()
    pdf.save()


async def run_job(
    app: App,
    pipeline: str,
    *,
    headers: dict[str, str] | None = None,
    seconds: float = 60.0,
    **extra: Any,
) -> str:
    body = {
        "sources": [{"type": "directory", "path": "docs"}],
        "pipeline": pipeline,
        "options": {**OPTIONS, "skip_existing": False},
        **extra,
    }
    created = await app.client.post("/api/v1/jobs", json=body, headers=headers)
    assert created.status_code == 201, created.text
    job_id: str = created.json()["id"]
    done = await app.wait_job(job_id, seconds=seconds)
    assert done["status"] == "completed", done
    return job_id


async def search(app: App, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
    return await app.client.get("/api/v1/search", params=params, headers=headers)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code and body["status"] == status and body["request_id"]
    return body


@pytest.mark.parametrize(("pipeline", "mode"), [("full", "vector"), ("extract", "lexical")])
async def test_the_right_chunk_comes_first(app: App, docs: Path, pipeline: str, mode: str) -> None:
    write_corpus(docs)
    write_pdf(
        docs / "log.pdf",
        ["Day one: calm seas.", "Day two: the barometer fell fast.", "Day three: home again."],
    )
    job_id = await run_job(app, pipeline)

    response = await search(app, q=QUERY, k=5)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["mode"] == mode and result["query"] == QUERY and not result["truncated"]
    first = result["items"][0]
    assert NEEDLE in first["chunk"]["text"], [i["chunk"]["text"] for i in result["items"]]
    assert first["match"] == mode and first["job_id"] == job_id
    assert first["file"]["name"] == "sailing.md" and first["file"]["path"] == "sailing.md"
    by_path = {f["path"]: f for f in await app.files(job_id)}
    assert first["file"]["id"] == by_path["sailing.md"]["id"]
    position = first["position"]
    assert position["end"] - position["start"] == len(first["chunk"]["text"])
    assert position["page"] is None  # Markdown has no pages
    assert first["chunk"]["embedder"] == ("hash-384" if pipeline == "full" else None)
    scores = [item["score"] for item in result["items"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert scores[0] > scores[1] if len(scores) > 1 else True
    assert len(result["items"]) <= 5

    # A PDF's page is part of the position; case does not matter.
    pdf = (await search(app, q="BAROMETER FELL", k=1)).json()["items"][0]
    assert pdf["file"]["name"] == "log.pdf" and pdf["position"]["page"] == 2
    assert "barometer" in pdf["chunk"]["text"] and pdf["chunk"]["metadata"]["page"] == 2


async def test_job_filter_and_hybrid_ranking(app: App, docs: Path) -> None:
    write_corpus(docs)
    vectors = await run_job(app, "full")
    words = await run_job(app, "extract")

    both = (await search(app, q=QUERY, k=20)).json()
    assert both["mode"] == "hybrid"
    firsts = {(i["job_id"], i["match"]) for i in both["items"] if NEEDLE in i["chunk"]["text"]}
    assert firsts == {(vectors, "vector"), (words, "lexical")}

    only_vectors = (await search(app, q=QUERY, job_id=vectors, k=20)).json()
    assert only_vectors["mode"] == "vector" and only_vectors["items"]
    assert {i["job_id"] for i in only_vectors["items"]} == {vectors}
    only_words = (await search(app, q=QUERY, job_id=words, k=20)).json()
    assert only_words["mode"] == "lexical" and only_words["items"]
    assert {i["job_id"] for i in only_words["items"]} == {words}
    assert NEEDLE in only_words["items"][0]["chunk"]["text"]


async def test_other_tenants_chunks_never_appear(app: App, docs: Path) -> None:
    write_corpus(docs)
    alice = {"Authorization": f"Bearer {await app.key('member', 'alice')}"}
    bob = {"Authorization": f"Bearer {await app.key('member', 'bob')}"}
    alices_job = await run_job(app, "extract", headers=alice)

    mine = (await search(app, alice, q=QUERY)).json()["items"]
    assert mine and {i["job_id"] for i in mine} == {alices_job}
    assert (await search(app, bob, q=QUERY)).json()["items"] == []
    problem = assert_problem(await search(app, bob, q=QUERY, job_id=alices_job), 404, "not_found")
    assert alices_job in problem["detail"]
    for unknown in ("job_00000000000000000000000000", "job_nope", "file_x", "job_0\x00"):
        assert_problem(await search(app, alice, q=QUERY, job_id=unknown), 404, "not_found")
    # The admin key sees every tenant, as everywhere else.
    assert (await search(app, q=QUERY, job_id=alices_job)).json()["items"]


async def test_a_viewer_may_search(app: App, docs: Path) -> None:
    write_corpus(docs)
    await run_job(app, "full")
    viewer = {"Authorization": f"Bearer {await app.key('viewer')}"}
    response = await search(app, viewer, q=QUERY)
    assert response.status_code == 200 and response.json()["items"]
    assert response.headers["ratelimit-limit"]  # counted against the key like any read
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "   "},
        {"q": ""},
        {},
        {"q": "x" * 1001},
        {"q": "sails", "k": 0},
        {"q": "sails", "k": 101},
        {"q": "sails", "k": "ten"},
        {"q": "sails", "job_id": ""},
    ],
    ids=["blank", "empty", "missing", "too-long", "k0", "k101", "k-not-int", "empty-job"],
)
async def test_bad_queries_are_problems(app: App, params: dict[str, Any]) -> None:
    problem = assert_problem(await search(app, **params), 422, "validation_error")
    assert problem["errors"] and problem["errors"][0]["loc"][0] == "query"


async def test_limits_are_inclusive(app: App) -> None:
    for params in ({"q": "x" * 1000, "k": 100}, {"q": "sails", "k": 1}):
        assert (await search(app, **params)).status_code == 200


async def test_nothing_to_search_is_an_empty_list(app: App, docs: Path) -> None:
    empty = (await search(app, q=QUERY)).json()
    assert empty == {"items": [], "query": QUERY, "mode": "lexical", "truncated": False}
    write_corpus(docs)
    stored_only = await run_job(app, "store")  # keeps bytes, makes no chunks
    assert (await search(app, q=QUERY, job_id=stored_only)).json()["items"] == []
    await run_job(app, "extract")
    # Words that occur nowhere, and a query without any word, find nothing.
    assert (await search(app, q="zyzzyva quokka")).json()["items"] == []
    assert (await search(app, q="?!…")).json()["items"] == []


async def test_vectors_of_an_unavailable_embedder_are_searched_by_words(
    app: App, docs: Path
) -> None:
    write_corpus(docs)
    job_id = await run_job(app, "full")
    async with app.runtime.db.write() as conn:  # as if made by a model this server lacks
        await conn.execute(
            chunks.update().where(chunks.c.job_id == job_id).values(embedder="retired-model")
        )
    result = (await search(app, q=QUERY)).json()
    assert result["mode"] == "lexical"
    first = result["items"][0]
    assert NEEDLE in first["chunk"]["text"] and first["match"] == "lexical"
    assert first["chunk"]["embedder"] == "retired-model"


async def test_a_search_reads_at_most_the_newest_chunks(
    app: App, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_corpus(docs)
    job_id = await run_job(app, "extract")
    newest_first = chunks.select().order_by(chunks.c.id.desc())
    async with app.runtime.db.read() as conn:
        texts = [row.text for row in await conn.execute(newest_first)]
    monkeypatch.setattr(search_service, "MAX_SCANNED_CHUNKS", 3)
    result = (await search(app, q="the", job_id=job_id, k=100)).json()
    assert result["truncated"] and result["items"]
    assert {i["chunk"]["text"] for i in result["items"]} <= set(texts[:3])
    monkeypatch.setattr(search_service, "MAX_SCANNED_CHUNKS", len(texts))
    assert not (await search(app, q="the", k=100)).json()["truncated"]


async def test_openapi_documents_search(app: App) -> None:
    spec = (await app.client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "job_id", "k"}
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/SearchResults")
    hit = spec["components"]["schemas"]["SearchHit"]["properties"]
    assert {"score", "job_id", "file", "chunk", "position"} <= set(hit)
    assert "404" in operation["responses"] and "422" in operation["responses"]


async def test_words_match_whatever_their_case_and_script(app: App) -> None:
    job = (
        await app.client.post(
            "/api/v1/jobs", json={"sources": [{"type": "upload"}], "pipeline": "extract"}
        )
    ).json()
    texts = {
        "bridge.txt": "Über die Brücke fährt der Zug nach München.",
        "ids.txt": "The field user_id is a foreign key.",
        "other.txt": "The field userXid is not.",
    }
    files = [("file", (name, text.encode(), "text/plain")) for name, text in texts.items()]
    uploaded = await app.client.post(
        f"/api/v1/jobs/{job['id']}/files", files=files, data={"seal": "true"}
    )
    assert uploaded.status_code == 201, uploaded.text
    await app.wait_job(job["id"])
    for query in ("über brücke", "ÜBER BRÜCKE", "münchen"):
        items = (await search(app, q=query)).json()["items"]
        assert [i["file"]["name"] for i in items] == ["bridge.txt"], query
    # "_" belongs to the word (and is no LIKE wildcard): userXid is another word.
    items = (await search(app, q="user_id")).json()["items"]
    assert [i["file"]["name"] for i in items] == ["ids.txt"]


@pytest.mark.parametrize("embedder", ["hash-384", "minilm"])
async def test_a_query_of_words_that_occur_nowhere_finds_nothing(
    app: App, docs: Path, embedder: str
) -> None:
    """#12: vector ranking used to return the least unrelated chunks (score 0.075) for nonsense.

    A vector hit needs a query word in its text, or a cosine at its embedder's minimum
    similarity (``hash-384`` has none; ``minilm`` counts from 0.4)."""
    write_corpus(docs)
    # Loading the semantic model in the parser process takes a while on a busy machine.
    options = {**OPTIONS, "skip_existing": False, "embedder": embedder}
    await run_job(app, "full", options=options, seconds=300 if embedder == "minilm" else 60)
    for nonsense in ("zzzqqq nonexistentword", "xqzv", "?!…"):
        result = (await search(app, q=nonsense, k=10)).json()
        assert result["mode"] == "vector" and result["items"] == [], (nonsense, result)
    # A query word in the text is enough, however low the cosine: "tide" is one word among many.
    tide = (await search(app, q="tide", k=10)).json()["items"]
    assert tide and all("tide" in i["chunk"]["text"].lower() for i in tide)
    if embedder == "minilm":
        # Close in meaning without a shared word: the semantic embedder still finds it.
        meaning = (await search(app, q="astronomy for beginners", k=3)).json()["items"]
        assert meaning and meaning[0]["file"]["name"] == "stars.md", meaning
