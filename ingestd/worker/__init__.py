"""The worker: claims files and sources, runs the pipeline, records outcomes.

Embedded in ``ingestd serve`` (its own child process, see ``worker_process.py``) or alone in
``ingestd worker``. Three parts, one concern each:

- ``loop.py``: the :class:`Worker` itself: its claim loop and claim window, its heartbeat (leases,
  the registry, the rescuer), its listing loop, start and stop;
- ``runner.py``: everything between a file's claim and its outcome (materialise its bytes, detect,
  scan, hash, parse, chunk, embed), one file at a time, no recursion;
- ``outcomes.py``: writing how a file ended (completed, skipped, failed or retried by the one
  retry policy, released, cancelled), riding out a database that is briefly away;

plus ``listing.py``, which lists a claimed source into files. Parsing and embedding run in a
process pool; the loop itself only waits and writes rows (through the store).
"""

from ingestd.worker.loop import Worker

__all__ = ["Worker"]
