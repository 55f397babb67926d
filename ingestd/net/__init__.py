"""Network access on a user's behalf, guarded (see :mod:`ingestd.net.outbound`)."""
