"""Every Python example of docs/sdk.md runs as printed, against the app on a loopback socket,
from a directory holding a copy of the repository's docs (what the examples ingest)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ADMIN_KEY

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "sdk.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)

# Each block in a namespace of its own, in order, in one process; a failure names its block.
RUNNER = """
import re, sys, traceback
blocks = re.findall(r"```python\\n(.*?)```", open(sys.argv[1]).read(), re.DOTALL)
for number, code in enumerate(blocks, 1):
    print(f"--- block {number}", flush=True)
    try:
        exec(compile(code, f"docs/sdk.md block {number}", "exec"), {"__name__": "__main__"})
    except BaseException:
        traceback.print_exc()
        sys.exit(f"block {number} failed")
print("--- all blocks ran", flush=True)
"""


def test_the_doc_has_an_example_for_every_method() -> None:
    from ingestd.client import _resources, _sync

    text = "\n".join(BLOCK.findall(DOC.read_text()))
    for resource, cls in (
        ("jobs", _sync.Jobs),
        ("files", _sync.Files),
        ("webhooks", _sync.Webhooks),
        ("keys", _sync.Keys),
    ):
        for name in (n for n in vars(cls) if not n.startswith("_")):
            mentioned = f"client.{resource}.{name}(" in text or f"{resource}.{name}(" in text
            assert mentioned, f"no example of {resource}.{name}"
    for name in ("search", "watch", "health", "stats", "queue", "upload_and_wait"):
        assert f"client.{name}(" in text, name
    assert _resources  # the async twins are shown through the sync ones and AsyncClient


async def test_every_example_runs_as_printed(loopback_url: str, source_root: Path) -> None:
    shutil.copytree(ROOT / "docs", source_root / "docs", ignore=shutil.ignore_patterns("*.py"))
    env = {
        **os.environ,
        "INGESTD_URL": loopback_url,
        "INGESTD_KEY": ADMIN_KEY,
        "INGESTD_UPLOAD_STORE": str(source_root.parent / "uploads.json"),
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", RUNNER, str(DOC)],
        cwd=source_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "--- all blocks ran" in result.stdout
