"""The SDK's public names are exactly what ``__all__`` says."""

from __future__ import annotations

import ingestd.client as client


def test_all_matches_exports() -> None:
    public = {name for name in dir(client) if not name.startswith("_")}
    assert set(client.__all__) == public - {"annotations"}


def test_sync_client_has_every_async_method() -> None:
    async_methods = {
        n
        for n in dir(client.AsyncClient)
        if not n.startswith("_") and n not in ("aclose", "iter_files")
    }
    sync_methods = {n for n in dir(client.Client) if not n.startswith("_")}
    assert async_methods <= sync_methods
