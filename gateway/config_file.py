"""The configuration file (`var/lgsp.toml`): reading it, and rewriting it atomically.

`lgsp init` writes it, `lgsp clients ...` edits it, the gateway re-reads its
`[auth]` section when it changes. This module is the one place that parses
and writes it; it holds secrets, so it is always written through
`write_private` (mode 0600 from its first byte, replaced atomically).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from adapters.errors import ConfigError
from gateway.private_files import write_private


def load_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path} does not exist: run `lgsp init` first")
    with path.open("rb") as f:
        return tomllib.load(f)


def to_toml(config: dict[str, Any], prefix: str = "") -> str:
    """A small TOML writer for our nested string/number/list tables (JSON strings are TOML)."""
    scalars = [f"{k} = {json.dumps(v)}" for k, v in config.items() if not isinstance(v, dict)]
    out = []
    if scalars:
        if prefix:
            out.append(f"[{prefix}]")
        out.extend(scalars)
        out.append("")
    for key, value in config.items():
        if isinstance(value, dict):
            out.append(to_toml(value, f"{prefix}.{key}" if prefix else key))
    return "\n".join(out)


def save_config(path: Path, config: dict[str, Any], header: str) -> None:
    """Replace the file with `config`, under a comment `header` (one or more lines)."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    write_private(path, comment + "\n" + to_toml(config))
