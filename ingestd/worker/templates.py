"""The templates step of a file (``options.templates``): sign its tables, match them against the
tenant's templates, apply the approved ones and store their records; tables that match no
approved template make the file end ``needs_mapping`` (docs/templates.md).

1. **Sign** (in the pool): every table's header position, columns, types and first rows.
2. **Decide** (one write transaction): per table, the closest template (``templates/match``):
   - the same columns (in any order) as a template with an approved version: **apply** it;
   - alike (score ≥ ``SAME_FAMILY``) but not the same: a new **version** of that template,
     recording what changed, its mapping carried over where the columns are still there
     (``template.versioned``); the table waits for that version's approval;
   - the same columns as a template not approved yet: the table waits on it;
   - nothing alike: a new ``discovered`` template (``template.discovered``); the table waits.
3. **Apply** (in the pool): records to a JSONL file per table, memory flat in rows.
4. **Store**: records in batches of ``BATCH`` rows, each batch its own transaction (a long
   sheet never holds the database's write lock for long), the first invalid cells, the counts.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ingestd.domain.events import EventType
from ingestd.domain.work import ClaimedFile
from ingestd.pipeline import tabular
from ingestd.pipeline.lanes import Lane
from ingestd.pipeline.pool import ExtractionPool
from ingestd.services import templates as tpl_service
from ingestd.store import records as record_store
from ingestd.store import templates as tpl_store
from ingestd.store.db import Database
from ingestd.store.events import append_event
from ingestd.templates.match import SAME_FAMILY, IndexedTemplate, TemplateIndex
from ingestd.templates.signature import Signature

log = logging.getLogger("ingestd.worker")

BATCH = 2000  # records written per transaction
TimeLeft = Callable[[], float]


class TemplateStep:
    def __init__(self, db: Database, pool: ExtractionPool) -> None:
        self.db = db
        self.pool = pool
        # Per tenant: the match index and the stamp of the templates it was built from; built
        # again only when they changed (1,000 templates take ~50 ms to index, ~5 ms to match).
        self._indexes: dict[str, tuple[tuple[int, float], TemplateIndex]] = {}

    async def _index(self, conn: Any, tenant: str) -> TemplateIndex:
        stamp = await tpl_store.index_stamp(conn, tenant)
        cached = self._indexes.get(tenant)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        index = TemplateIndex.from_rows(await tpl_store.index_rows(conn, tenant))
        self._indexes[tenant] = (stamp, index)
        return index

    async def run(
        self,
        claimed: ClaimedFile,
        path: Path,
        mime_type: str,
        time_left: TimeLeft,
        *,
        lane: Lane | None = None,
    ) -> list[dict[str, Any]]:
        """The tables that wait for a mapping (``{"table", "template_id", "version"}``); an
        empty list when every table was applied, or the file has none. ``lane``: a capped job's
        turns in the pool (``pipeline/lanes.py``)."""
        if not tabular.is_tabular_candidate(mime_type, claimed.name):
            return []
        tables = await self.pool.run(
            tabular.table_signatures,
            str(path),
            mime_type,
            claimed.name,
            time_limit=time_left(),
            lane=lane,
        )
        if not tables:
            return []
        plans, waiting = await self._decide(claimed, tables)
        if plans:
            with tempfile.TemporaryDirectory(prefix="ingestd-records-") as out_dir:
                results = await self.pool.run(
                    tabular.apply_plans,
                    str(path),
                    mime_type,
                    claimed.name,
                    plans,
                    out_dir,
                    time_limit=time_left(),
                    lane=lane,
                )
                for result in results:
                    await self._store(claimed, result)
        return waiting

    async def _decide(
        self, claimed: ClaimedFile, tables: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        now = time.time()
        plans: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        async with self.db.write() as conn:
            # Read the layouts only once no one else may be adding one (store/templates.py).
            await tpl_store.lock_layouts(conn, claimed.tenant)
            await record_store.delete_for_file(conn, claimed.id)
            index = await self._index(conn, claimed.tenant)
            size = len(index.templates)
            for table in tables:
                signature = Signature.from_dict(table["signature"])
                decision = await self._decide_one(conn, claimed, table, signature, index, now)
                template_id, version, score, plan = decision
                rows.append(
                    {
                        "table_index": table["index"],
                        "tenant": claimed.tenant,
                        "job_id": claimed.job_id,
                        "location": table["location"][:300],
                        "status": tpl_store.APPLIED if plan else tpl_store.NEEDS_MAPPING,
                        "signature": table["signature"],
                        "samples": table["samples"],
                        "template_id": template_id,
                        "version": version,
                        "score": score,
                        "rows": signature.rows,
                        "valid_rows": 0,
                        "created_at": now,
                    }
                )
                if plan:
                    plans.append(plan)
                else:
                    waiting.append(
                        {"table": table["index"], "template_id": template_id, "version": version}
                    )
            if len(index.templates) != size:  # layouts added: the cached index must not keep
                self._indexes.pop(claimed.tenant, None)  # them if this transaction fails
            await tpl_store.replace_file_tables(conn, claimed.id, rows)
        return plans, waiting

    async def _decide_one(
        self,
        conn: Any,
        claimed: ClaimedFile,
        table: dict[str, Any],
        signature: Signature,
        index: TemplateIndex,
        now: float,
    ) -> tuple[str, int, float | None, dict[str, Any] | None]:
        """``(template id, version, score, plan or None)`` for one table."""
        best = index.best(signature)
        if best is not None and best.score >= SAME_FAMILY:
            template = await tpl_store.get_template(conn, best.template_id, claimed.tenant)
            assert template is not None
            if best.same_columns:
                return await self._same_layout(conn, template, table, best.score)
            current = await tpl_store.get_version(conn, best.template_id, best.version)
            assert current is not None
            known = await tpl_store.version_by_fingerprint(
                conn, claimed.tenant, signature.fingerprint
            )
            if known is not None and known["template_id"] == template["id"]:
                plan = _plan(table, known) if known["status"] == "approved" else None
                return template["id"], known["version"], best.score, plan
            version = await tpl_service.add_version(
                conn,
                template,
                signature=signature,
                schema=current["target_schema"],
                mapping=tpl_service.kept_mapping(current["mapping"], signature),
                status="discovered",
                by=None,
                source_file_id=claimed.id,
                now=now,
            )
            index.add(_indexed(template["id"], version["version"], signature))
            return template["id"], version["version"], best.score, None
        template, _first = await tpl_service.new_template(
            conn,
            tenant=claimed.tenant,
            name=tpl_service.name_for(claimed.name, table["location"]),
            signature=signature,
            schema={"fields": []},
            mapping={},
            status="discovered",
            by=None,
            source_file_id=claimed.id,
            now=now,
            job_id=claimed.job_id,
        )
        index.add(_indexed(template["id"], 1, signature))
        return template["id"], 1, best.score if best else None, None

    async def _same_layout(
        self, conn: Any, template: dict[str, Any], table: dict[str, Any], score: float
    ) -> tuple[str, int, float | None, dict[str, Any] | None]:
        """A layout a template knows: applied with its approved version, else it waits."""
        approved = template["approved_version"]
        if approved is None or template["status"] == "retired":
            return template["id"], template["current_version"], score, None
        version = await tpl_store.get_version(conn, template["id"], approved)
        assert version is not None
        return template["id"], approved, score, _plan(table, version)

    async def _store(self, claimed: ClaimedFile, result: dict[str, Any]) -> None:
        index = result["index"]
        batches = _batches(Path(result["records_path"]), claimed.id, index)
        batch: list[dict[str, Any]] = []
        while (batch := await asyncio.to_thread(next, batches, [])) and len(batch) == BATCH:
            await self._write(batch)
        async with self.db.write() as conn:
            await record_store.insert_records(conn, batch)
            await record_store.insert_errors(
                conn,
                [
                    {
                        "file_id": claimed.id,
                        "table_index": index,
                        "row": e["row"],
                        "column": e["column"],
                        "field": e["field"],
                        "value": None if e["value"] is None else str(e["value"])[:1000],
                        "reason": e["reason"],
                    }
                    for e in result["errors"]
                ],
            )
            await tpl_store.update_file_table(
                conn,
                claimed.id,
                index,
                rows=result["rows"],
                valid_rows=result["valid_rows"],
                duration_ms=result["duration_ms"],
                error_counts=result["error_counts"],
            )
            await append_event(
                conn,
                tenant=claimed.tenant,
                type=EventType.RECORDS_STORED,
                job_id=claimed.job_id,
                file_id=claimed.id,
                data={
                    "table": index,
                    "rows": result["rows"],
                    "valid_rows": result["valid_rows"],
                    "quality": round(result["valid_rows"] / result["rows"], 4)
                    if result["rows"]
                    else None,
                },
            )

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        async with self.db.write() as conn:
            await record_store.insert_records(conn, batch)


def _batches(path: Path, file_id: str, index: int) -> Iterator[list[dict[str, Any]]]:
    """The records of a JSONL file the pool wrote, ``BATCH`` at a time (the last may be short)."""
    batch: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for line in handle:
            row, valid, data = orjson.loads(line)
            batch.append(
                {"file_id": file_id, "table_index": index, "row": row, "valid": valid, "data": data}
            )
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def _plan(table: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """What the pool needs to apply ``version`` to ``table``: the mapping, the target schema,
    and each column's decimal mark as this file writes it."""
    columns = (table["signature"] or {}).get("columns") or []
    return {
        "index": table["index"],
        "target_schema": version["target_schema"],
        "mapping": version["mapping"],
        "decimal_marks": {
            c["name"]: (c.get("profile") or {}).get("decimal_mark", ".") for c in columns
        },
        "template_id": version["template_id"],
        "version": version["version"],
    }


def _indexed(template_id: str, version: int, signature: Signature) -> IndexedTemplate:
    return IndexedTemplate(
        id=template_id,
        version=version,
        status="discovered",
        columns=tuple((c.name, c.key, c.type) for c in signature.columns),
    )
