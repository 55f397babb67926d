"""The SDK's public surface: ``__all__`` is what it exports, the sync client mirrors the async
one method for method, its enums cover the server's, and it ships its types."""

from __future__ import annotations

import inspect
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

import ingestd
import ingestd.client as sdk
from ingestd.api.routes.webhooks import EVENT_TYPES
from ingestd.client import _resources, _sync, _sync_templates, _templates
from ingestd.domain import auth, states

PAIRS = [
    (sdk.AsyncClient, sdk.Client),
    (_resources.AsyncJobs, _sync.Jobs),
    (_resources.AsyncFiles, _sync.Files),
    (_resources.AsyncWebhooks, _sync.Webhooks),
    (_resources.AsyncKeys, _sync.Keys),
    (_templates.AsyncTemplates, _sync_templates.Templates),
    (_templates.AsyncMapping, _sync_templates.Mapping),
    (_templates.AsyncRecords, _sync_templates.Records),
]
ONLY_ASYNC = {"aclose"}
ONLY_SYNC = {"close"}


def test_all_matches_the_exports() -> None:
    public = {name for name in dir(sdk) if not name.startswith("_")}
    assert sorted(sdk.__all__) == sorted(public)
    assert all(getattr(sdk, name) is not None for name in sdk.__all__)


def public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(cls, callable)
        if not name.startswith("_") and not inspect.isclass(member)
    }


def synced(annotation: str) -> str:
    """What an async method's return annotation is on the sync side."""
    return annotation.replace("AsyncIterator[", "Iterator[")


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda c: c.__name__)
def test_sync_and_async_have_the_same_methods_and_signatures(
    async_cls: type, sync_cls: type
) -> None:
    async_methods = public_methods(async_cls)
    sync_methods = public_methods(sync_cls)
    assert set(async_methods) - ONLY_ASYNC == set(sync_methods) - ONLY_SYNC
    for name, method in async_methods.items():
        if name in ONLY_ASYNC:
            continue
        mine, theirs = inspect.signature(method), inspect.signature(sync_methods[name])
        assert list(mine.parameters.values()) == list(theirs.parameters.values()), name
        assert synced(str(mine.return_annotation)) == str(theirs.return_annotation), name
        assert inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method), name
        assert not inspect.iscoroutinefunction(sync_methods[name]), name
        assert sync_methods[name].__doc__ == method.__doc__ or method.__doc__ is None, name


def test_both_clients_take_the_same_arguments_and_have_the_same_resources() -> None:
    mine = inspect.signature(sdk.AsyncClient.__init__).parameters
    theirs = inspect.signature(sdk.Client.__init__).parameters
    assert list(mine.values()) == list(theirs.values())
    with sdk.Client("http://127.0.0.1:9", upload_store=False) as client:
        asynchronous = client._async
        for resource in ("jobs", "files", "webhooks", "keys"):
            assert type(getattr(client, resource)).__name__ == (
                type(getattr(asynchronous, resource)).__name__.removeprefix("Async")
            )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (sdk.JobStatus, states.JobStatus),
        (sdk.FileStatus, states.FileStatus),
        (sdk.FileStep, states.FileStep),
        (sdk.Priority, states.Priority),
        (sdk.Pipeline, states.Pipeline),
        (sdk.JobAction, states.JobAction),
        (sdk.Role, auth.Role),
    ],
    ids=lambda e: e.__name__,
)
def test_the_enums_know_every_value_the_server_sends(
    ours: type[StrEnum], theirs: type[StrEnum]
) -> None:
    assert {m.value for m in theirs} <= {m.value for m in ours}


def test_event_types_cover_the_server_and_unknown_values_still_parse() -> None:
    assert {m.value for m in sdk.EventType} >= EVENT_TYPES
    newer = sdk.FileStatus("waiting_for_godot")
    assert newer == "waiting_for_godot" and newer is sdk.FileStatus("waiting_for_godot")
    assert newer not in list(sdk.FileStatus)


def test_the_package_ships_its_types() -> None:
    assert (Path(ingestd.__file__).parent / "py.typed").is_file()
