"""Live events: the event log (``store/events.py``) fanned out to WebSocket, SSE and webhooks.

The log table is the source of truth. :class:`~ingestd.events.tail.LogTail` reads newly
committed rows by seq and publishes them, in order, to the in-memory
:class:`~ingestd.events.hub.Hub`, which hands each event to the matching subscriptions. What wakes
the tail when another process appends (a worker elsewhere, another API process) is a push feed
(``events/push.py``: Redis pub/sub or PostgreSQL LISTEN/NOTIFY; on SQLite, Unix datagram sockets
between the processes of the one machine, with a brisk poll kept underneath).
"""
