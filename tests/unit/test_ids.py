"""Per-request identifiers: the shape of uuid4().hex, unique, and a fresh prefix per process."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.http.edge import REQUEST_ID_RE
from gateway.ids import new_id


def test_ids_are_unique_and_shaped_like_uuid4_hex() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 and i == i.lower() for i in ids)
    assert all(REQUEST_ID_RE.fullmatch(i) for i in ids[:100])  # usable as a request id


def test_each_process_and_each_forked_child_draws_its_own_prefix() -> None:
    code = "from gateway.ids import new_id; print(new_id()[:16])"
    others = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    mine = new_id()[:16]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its prefix and leave at once
        os.write(write, new_id()[:16].encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert len(others | {mine, child}) == 4
