"""The fallback load generator of bench/e2e.py, for machines without `wrk`: one process.

    python -m bench.e2e_loadgen URL BODIES --part I --parts N --seconds S --connections C

Sends the lines I, I+N, I+2N… of BODIES (signature TAB body, as bench/e2e.py writes them)
with C connections for S seconds, waits for the requests in flight, and prints one JSON
line: counts, the latencies in milliseconds, and how many lines were sent. Slower than wrk
by far: bench/e2e.py says so when it has to use it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import aiohttp


async def run(
    url: str, requests: list[tuple[str, bytes]], seconds: float, connections: int
) -> dict[str, object]:
    latencies: list[float] = []
    counts = {"ok": 0, "status_errors": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0}
    state = {"next": 0, "wraps": 0}
    deadline = time.monotonic() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            i = state["next"]
            state["next"] += 1
            if state["next"] >= len(requests):
                state["next"] = 0
                state["wraps"] += 1
            sig, body = requests[i]
            headers = {"X-Hub-Signature-256": sig, "Content-Type": "application/json"}
            start = time.monotonic()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    ok = 200 <= response.status < 400
            except TimeoutError:
                counts["timeout"] += 1
                continue
            except aiohttp.ClientConnectionError:
                counts["read"] += 1
                continue
            latencies.append((time.monotonic() - start) * 1e3)
            counts["ok" if ok else "status_errors"] += 1

    began = time.monotonic()
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    return {
        **counts,
        "seconds": time.monotonic() - began,
        "latencies_ms": latencies,
        "sent": state["next"] + state["wraps"] * len(requests),
        "n": len(requests),
        "wraps": state["wraps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("bodies")
    parser.add_argument("--part", type=int, default=0)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    requests = []
    with open(args.bodies, "rb") as lines:
        for i, line in enumerate(lines):
            if i % args.parts == args.part:
                sig, body = line.rstrip(b"\n").split(b"\t", 1)
                requests.append((sig.decode(), body))
    result = asyncio.run(run(args.url, requests, args.seconds, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
