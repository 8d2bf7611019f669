"""Identifiers the gateway makes per request: unique, cheap, and not secrets.

`uuid.uuid4()` asks the kernel for 16 random bytes every time (a system call);
the gateway makes three or four ids per request (request id, correlation id,
audit event and batch ids). Here each process draws 64 random bits once and
counts after them: 32 hex characters like `uuid4().hex`, unique across
processes and restarts with the probability of a 64-bit collision per pair of
processes. They are identifiers, never credentials: nothing is authorised by
knowing one. A forked child draws its own prefix.
"""

from __future__ import annotations

import itertools
import os
import secrets

_prefix = secrets.token_hex(8)
_counter = itertools.count()


def _reseed() -> None:
    global _prefix, _counter
    _prefix = secrets.token_hex(8)
    _counter = itertools.count()


os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """32 lowercase hex characters, unique per call."""
    return f"{_prefix}{next(_counter):016x}"
