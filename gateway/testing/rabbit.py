"""Test access to the broker: virtual hosts and queue inspection through the management API."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from gateway.broker import LocalBroker


@dataclass
class Rabbit:
    broker: LocalBroker
    vhost: str

    @property
    def url(self) -> str:
        b = self.broker
        return f"amqp://{b.user}:{b.password}@127.0.0.1:{b.ports.amqp}/{self.vhost}"

    def api(self, method: str, path: str, body: Any = None, retry_for: float = 30.0) -> Any:
        """Call the management API; retried while the plugin is still starting."""
        b = self.broker
        token = base64.b64encode(f"{b.user}:{b.password}".encode()).decode()
        data = json.dumps(body).encode() if body is not None else None
        deadline = time.monotonic() + retry_for
        while True:
            request = urllib.request.Request(  # noqa: S310 (our own node on 127.0.0.1)
                b.management_url + path,
                data=data,
                method=method,
                headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
                    raw = resp.read()
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError:
                raise
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def _vhost_path(self) -> str:
        return urllib.parse.quote(self.vhost, safe="")

    def create_vhost(self) -> None:
        self.api("PUT", f"/api/vhosts/{self._vhost_path()}", {})
        self.api(
            "PUT",
            f"/api/permissions/{self._vhost_path()}/{self.broker.user}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )

    def delete_vhost(self) -> None:
        self.api("DELETE", f"/api/vhosts/{self._vhost_path()}")

    def queue(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api(
            "GET", f"/api/queues/{self._vhost_path()}/{urllib.parse.quote(name, safe='')}"
        )
        return found
