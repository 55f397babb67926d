"""Property-based API tests from our own OpenAPI document (schemathesis), against a real server.

Every operation, with a valid admin key: no 5xx, and responses match the documented schema.
A fixed seed and a bounded example count keep CI fast and repeatable; a longer run:
``INGESTD_FUZZ_EXAMPLES=500 pytest tests/e2e/test_schemathesis.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.e2e.conftest import ADMIN, Server

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("INGESTD_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base: Path = tmp_path_factory.mktemp("fuzz")
    root = base / "root"
    root.mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "a.md").write_text("# A\n\nSome text.")
    server = Server(base / "data", root, base / "server.log", {"INGESTD_RATE_LIMITS": "false"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_server: Server) -> Any:
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


def test_api_conforms_to_its_schema(api_schema: Any) -> None:
    # schemathesis' own pytest plugin does not support this pytest yet: drive hypothesis directly.
    cases = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            nonlocal cases
            cases += 1
            # A schema-valid body may still be refused on meaning (a path outside the roots, a
            # job id that does not exist): that check does not fit this API.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {ADMIN}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()
    print(f"schemathesis: {cases} cases")
    assert cases > 50
