"""Live events: the event log (``store/events.py``) fanned out to WebSocket, SSE and webhooks.

The log table is the source of truth. A *feed* adapter learns of newly committed rows (today:
:class:`~ingestd.events.tail.LogTail`, polling ``seq > last`` and woken by in-process appends;
tomorrow a PostgreSQL LISTEN/NOTIFY or Redis pub/sub adapter behind the same
:class:`~ingestd.events.hub.Feed` port) and publishes them, in seq order, to the in-memory
:class:`~ingestd.events.hub.Hub`, which hands each event to the matching subscriptions.
"""
