"""A test that needs a real service: skipped where it is missing on a developer's machine, a
failure in CI (``CI=true``), where every such test must run."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run this test")
    pytest.skip(f"{reason} (outside CI only)")
