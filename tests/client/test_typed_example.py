"""A user's code is checked by ``mypy --strict`` against the SDK's types: the example script of
docs/sdk.md must pass, and a mistake in it must be caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "upload_folder.py"


def mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--follow-imports=silent",  # report the user's code, typed by the SDK's
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "sdk-example"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )


def test_the_example_is_strictly_typed_and_mistakes_are_caught(tmp_path: Path) -> None:
    checked = mypy(EXAMPLE)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        "from ingestd.client import Client\n"
        "with Client() as client:\n"
        "    job = client.jobs.get('job_1')\n"
        "    percent: str = job.progress.percent\n"
        "    client.jobs.pause(job)\n"
    )
    caught = mypy(wrong)
    assert caught.returncode == 1
    assert 'Incompatible types in assignment (expression has type "float"' in caught.stdout
    assert 'Argument 1 to "pause" of "Jobs" has incompatible type "Job"' in caught.stdout
