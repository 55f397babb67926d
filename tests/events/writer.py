"""A separate process that appends events the way a worker on another machine does: its own
connection to the database and its own event publisher (``python -m tests.events.writer``).

Settings come from ``INGESTD_*`` variables; argv: ``job_id count batches``.
"""

from __future__ import annotations

import asyncio
import sys

from ingestd.config import Settings
from ingestd.events.push import EventPublisher, choose
from ingestd.store.db import Database
from ingestd.store.events import append_events


async def main(job_id: str, count: int, batches: int) -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url)
    push = choose(settings, db)
    publisher = EventPublisher(push) if push is not None else None
    if publisher is not None:
        publisher.start()
    try:
        for batch in range(batches):
            async with db.write() as conn:
                await append_events(
                    conn,
                    [
                        {
                            "tenant": "default",
                            "type": "file.progress",
                            "job_id": job_id,
                            "data": {"batch": batch, "i": i},
                        }
                        for i in range(count)
                    ],
                )
            await asyncio.sleep(0.01)
    finally:
        if publisher is not None:
            await publisher.stop()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
