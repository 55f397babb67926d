"""Embedder implementations; pick one through ``ingestd.pipeline.embed.get_embedder``.

``hashing`` is the dependency-free default; ``minilm`` needs the ``ingestd[embeddings]`` extra
and is only imported when asked for, so a default install never loads torch.
"""

DEFAULT_EMBEDDER = "hash-384"
ALIASES = {"default": DEFAULT_EMBEDDER}


def canonical_name(name: str | None) -> str:
    """The embedder a job's ``embedder`` option means (``None`` and ``"default"``: the
    built-in one). Light: the worker's own process asks without loading any embedder."""
    return ALIASES.get(name or "default", name or "default")


class MissingExtra(ValueError):
    """An embedder's optional dependencies are not installed; the message says what to install.

    A ``ValueError`` so that callers validating a configured embedder name handle an unusable
    name and an unknown one alike.
    """
