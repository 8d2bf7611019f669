"""The example calls `lgsp dev` prints and the README shows, built from the mock data set."""

from __future__ import annotations

import json
import shlex


def example_requests() -> dict[str, dict[str, object]]:
    """One valid request body per operation, from the deterministic mock data set."""
    from mocks.data import Dataset, ensure_dataset

    from mocks.settings import MockSettings

    examples = Dataset(ensure_dataset(MockSettings())).examples()  # type: ignore[call-arg]
    citizen = examples["population"]
    return {
        "population/citizen-verify": {
            "personal_id": citizen["personal_id"],
            "full_name": citizen["full_name"],
            "date_of_birth": citizen["date_of_birth"],
        },
    }


def curl(base: str, path: str, body: dict[str, object], headers: dict[str, str]) -> str:
    parts = ["curl -s", shlex.quote(f"{base}/v1/{path}"), "-H 'Content-Type: application/json'"]
    parts += [f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()]
    parts.append(f"-d {shlex.quote(json.dumps(body, ensure_ascii=False))}")
    return " \\\n  ".join(parts)


def banner(base: str) -> str:
    lines = ["", "=" * 72, f"LGSP Gateway is ready at {base}", ""]
    try:
        requests = example_requests()
    except Exception as exc:  # the banner must never take the stack down
        return "\n".join([*lines, f"(no example: {type(exc).__name__})", "=" * 72])
    for path, body in requests.items():
        lines += [f"# {path}", curl(base, path, body, {}), ""]
    lines += ["Ctrl-C stops everything.", "=" * 72]
    return "\n".join(lines)
