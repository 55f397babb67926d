"""Embedder implementations; pick one through ``ingestd.pipeline.embed.get_embedder``.

``hashing`` is the dependency-free default; ``minilm`` needs the ``ingestd[embeddings]`` extra
and is only imported when asked for, so a default install never loads torch.
"""


class MissingExtra(ValueError):
    """An embedder's optional dependencies are not installed; the message says what to install.

    A ``ValueError`` so that callers validating a configured embedder name handle an unusable
    name and an unknown one alike.
    """
