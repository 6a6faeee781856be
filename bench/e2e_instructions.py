"""Instructions per webhook, counted by callgrind: `serve`'s ingestion against bare aiohttp.

    .venv/bin/python -m bench.e2e_instructions [--webhooks N] [--connections C]

Wall-clock rates on a shared machine drift by tens of per cent from one run to the next
(bench/e2e.py takes turns to cope with it). The number of instructions a server runs per
webhook does not drift: valgrind's callgrind counts them whatever else the machine is
doing. Both servers run under callgrind (valgrind, Debian's package) and receive the same
pre-signed webhooks from an aiohttp client here: some to warm up, then N, then N again,
the counters zeroed before each measure and dumped after it (`callgrind_control`), so
two figures per server show how well they repeat.

`serve` runs with its workers idle (bench/e2e_ingest_only.py): signature, parse, durable
insert (SQLite, a synchronous group commit), 200: the ingestion path alone. callgrind
counts the processes' own instructions, every thread of them, not the kernel's (socket
I/O, and `serve`'s fsyncs): the ratio is the one the rates would have if both ran at the
same instructions per second and the kernel's share were alike.

Prints a table and writes bench/results-instructions.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.e2e import ROOT, WEBHOOK, BenchError, Children, Server, prepare_bodies, start_helper
from bench.e2e import start_serve as start_bot

RESULTS = ROOT / "bench" / "results-instructions.json"
WARM_UP = 300
READY_WITHIN = 120.0  # a Python server starts in seconds; under valgrind, tens of them


@dataclass
class Counted:
    label: str
    per_webhook: list[float]  # one figure per measure

    @property
    def mean(self) -> float:
        return sum(self.per_webhook) / len(self.per_webhook)


def read_bodies(path: Path) -> list[tuple[str, bytes]]:
    pairs = []
    for line in path.read_bytes().splitlines():
        signature, body = line.split(b"\t", 1)
        pairs.append((signature.decode(), body))
    return pairs


async def send(url: str, bodies: list[tuple[str, bytes]], connections: int) -> None:
    """Every body once, `connections` at a time; each must be acknowledged with 200."""
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession() as session:

        async def one_connection() -> None:
            while queue:
                signature, body = queue.pop()
                headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
                async with session.post(url + WEBHOOK, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise BenchError(f"{url} answered {response.status} to a webhook")

        await asyncio.gather(*(one_connection() for _ in range(connections)))


def callgrind(pid: int, action: str) -> None:
    subprocess.run(["callgrind_control", action, str(pid)], check=True, capture_output=True)


def instructions(dump: Path) -> int:
    for line in dump.read_text("utf-8", errors="replace").splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise BenchError(f"no instruction total in {dump}")


async def count(
    label: str,
    server: Server,
    dumps: Path,
    bodies: list[tuple[str, bytes]],
    webhooks: int,
    connections: int,
    measures: int,
) -> Counted:
    pid = server.process.pid
    await send(server.url, bodies[:WARM_UP], connections)
    figures = []
    for number in range(measures):
        start = WARM_UP + number * webhooks
        callgrind(pid, "--zero")
        await send(server.url, bodies[start : start + webhooks], connections)
        before = set(dumps.parent.glob(f"{dumps.name}*"))
        callgrind(pid, "--dump")
        new = set(dumps.parent.glob(f"{dumps.name}*")) - before
        if len(new) != 1:
            raise BenchError(f"callgrind wrote {len(new)} dumps for one measure of {label}")
        figures.append(instructions(new.pop()) / webhooks)
        print(f"  {label}: {figures[-1]:,.0f} instructions per webhook", file=sys.stderr)
    return Counted(label, figures)


async def run(webhooks: int, connections: int, measures: int) -> dict[str, Any]:
    children = Children()
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        workdir = Path(tmp)
        bodies_file, _ = prepare_bodies(workdir, "counted", WARM_UP + measures * webhooks)
        bodies = read_bodies(bodies_file)
        results: list[Counted] = []
        try:
            for label in ("bare aiohttp", "serve, SQLite, workers idle"):
                dumps = workdir / f"callgrind-{len(results)}.out"
                wrapper = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dumps}.%p"]
                if label.startswith("bare"):
                    server = await start_helper(
                        children, "bare", workdir, wrapper=wrapper, within=READY_WITHIN
                    )
                else:
                    server = await start_bot(
                        children, f"sqlite:///{workdir / 'counted.sqlite3'}",
                        "http://127.0.0.1:9", workdir, module="bench.e2e_ingest_only",
                        wrapper=wrapper, within=READY_WITHIN,
                    )  # fmt: skip
                results.append(
                    await count(label, server, dumps, bodies, webhooks, connections, measures)
                )
                children.kill(server.process, signal.SIGKILL)
        finally:
            children.kill_all()
    bare, serve = results
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "python": sys.version.split()[0],
        "webhooks_per_measure": webhooks,
        "connections": connections,
        "bare": bare.per_webhook,
        "serve": serve.per_webhook,
        "ratio": bare.mean / serve.mean,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=1000, help="per measure (1000)")
    parser.add_argument("--connections", type=int, default=16, help="at once (16)")
    parser.add_argument("--measures", type=int, default=2, help="per server (2)")
    args = parser.parse_args()
    missing = [tool for tool in ("valgrind", "callgrind_control") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"{', '.join(missing)} not found (Debian: apt-get install -y valgrind)")
    try:
        results = asyncio.run(run(args.webhooks, args.connections, args.measures))
    except BenchError as exc:
        sys.exit(f"bench/e2e_instructions.py: {exc}")
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print("| server | instructions per webhook (each measure) |")
    print("|---|---|")
    for key, label in (("bare", "bare aiohttp"), ("serve", "serve, SQLite, workers idle")):
        print(f"| {label} | {' / '.join(f'{v:,.0f}' for v in results[key])} |")
    print(
        f"\nserve runs {1 / results['ratio']:.2f} times the bare server's instructions per "
        f"webhook: at the same speed, {results['ratio']:.0%} of its rate (target ≥ 50 %)"
    )
    print(f"results in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
