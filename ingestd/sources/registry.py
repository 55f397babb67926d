"""Finding a source's adapter by its type: the built-in ones, and those of installed packages.

A package adds a source type by declaring an entry point in the ``ingestd.sources`` group, named
after the type, that points at its adapter class (a :class:`~ingestd.sources.port.Source`)::

    [project.entry-points."ingestd.sources"]
    gdrive = "ingestd_gdrive:DriveSource"

Entry points are read once per process. One that cannot be loaded, or that names a built-in
type, is logged and left out: an installed package can add sources, never break or replace
the built-in ones.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from importlib import metadata

from ingestd.domain.errors import BadRequest
from ingestd.domain.refs import FileRef
from ingestd.sources.archive import ZipSource
from ingestd.sources.base import SourceError
from ingestd.sources.directory import DirectorySource
from ingestd.sources.port import Source, SourceContext
from ingestd.sources.s3 import S3Source
from ingestd.sources.upload import UploadSource
from ingestd.sources.url import UrlSource

log = logging.getLogger("ingestd.sources")

ENTRY_POINT_GROUP = "ingestd.sources"
BUILT_IN: tuple[type[Source], ...] = (UploadSource, DirectorySource, ZipSource, UrlSource, S3Source)


class SourceRegistry:
    """Adapter classes by source type, and by the kind of reference they materialise."""

    def __init__(self, classes: Iterable[type[Source]]) -> None:
        self._by_type: dict[str, type[Source]] = {}
        self._by_kind: dict[str, type[Source]] = {}
        for cls in classes:
            self._by_type.setdefault(cls.type, cls)
            for kind in cls.ref_kinds:
                self._by_kind.setdefault(kind, cls)

    @classmethod
    def discover(cls) -> SourceRegistry:
        """The built-in adapters and those installed packages declare (see the module doc)."""
        return cls([*BUILT_IN, *_installed({c.type for c in BUILT_IN})])

    @property
    def types(self) -> list[str]:
        return sorted(self._by_type)

    @property
    def connector_types(self) -> frozenset[str]:
        """The types installed packages added (not built in)."""
        return frozenset(self._by_type) - {cls.type for cls in BUILT_IN}

    def source_class(self, source_type: str) -> type[Source]:
        found = self._by_type.get(source_type)
        if found is None:
            raise SourceError(
                "unsupported_source",
                f"source type {source_type!r} cannot be listed here; this server knows "
                f"{', '.join(self.types)} (a connector is a package installed with ingestd)",
            )
        return found

    def class_for_ref(self, ref: FileRef) -> type[Source]:
        found = self._by_kind.get(ref.kind)
        if found is None:
            raise SourceError(
                "unsupported_source", f"no installed source reads {ref.kind!r} references"
            )
        return found


def _installed(built_in: set[str]) -> list[type[Source]]:
    found: list[type[Source]] = []
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if point.name in built_in:
            log.warning("ignoring source %r of %s: a built-in type", point.name, point.value)
            continue
        try:
            cls = point.load()
        except Exception:
            log.exception("source %r (%s) could not be loaded; ignored", point.name, point.value)
            continue
        if getattr(cls, "type", None) != point.name:
            log.warning(
                "ignoring source %r: %s says its type is %r",
                point.name,
                point.value,
                getattr(cls, "type", None),
            )
            continue
        found.append(cls)
    return found


@functools.cache
def installed_sources() -> SourceRegistry:
    """This process's registry (entry points are read once)."""
    return SourceRegistry.discover()


class Sources:
    """The adapters of one process, built on first use with its context."""

    def __init__(self, context: SourceContext, registry: SourceRegistry | None = None) -> None:
        self.context = context
        self.registry = registry or installed_sources()
        self._adapters: dict[type[Source], Source] = {}

    def _adapter(self, cls: type[Source]) -> Source:
        adapter = self._adapters.get(cls)
        if adapter is None:
            adapter = self._adapters[cls] = cls(self.context)
        return adapter

    def for_type(self, source_type: str) -> Source:
        return self._adapter(self.registry.source_class(source_type))

    def for_ref(self, ref: FileRef) -> Source:
        return self._adapter(self.registry.class_for_ref(ref))

    def check(self, specs: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
        """A new job's sources, each checked by its adapter (``BadRequest`` naming the first
        bad one); returns the specs to store."""
        checked = []
        for index, spec in enumerate(specs):
            try:
                adapter = self.for_type(str(spec["type"]))
            except SourceError as exc:
                raise BadRequest(f"sources[{index}].type: {exc.message}") from None
            checked.append(adapter.check(dict(spec), index=index))
        return checked


def describe_source(source_type: str, spec: Mapping[str, object]) -> dict[str, object]:
    """A stored source spec as the API shows it (a type no longer installed: as stored)."""
    try:
        cls = installed_sources().source_class(source_type)
    except SourceError:
        return {k: v for k, v in spec.items() if k != "type"}
    return cls.describe(spec)
