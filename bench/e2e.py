"""End-to-end benchmark: signed Messenger webhooks into `serve`, replies out to a fake Graph API.

    .venv/bin/python -m bench.e2e [--quick] [--postgres] [--profile] [--python-loadgen]

Everything runs on 127.0.0.1, each server as its own process:

1. Ingestion: `wrk` (Debian package `wrk`) replays pre-signed webhooks, each request a
   different body (unique `mid`, a French customer message of tests/data/devset.tsv, one
   of many customers) with its own signature, to a bare aiohttp server that only reads
   the body and answers 200 and to `serve` on SQLite (Messenger on, the Send API a fake
   that answers at once), in turns: bare, serve, bare, serve, bare (three serve runs
   without --quick). The server under test is pinned to one core and wrk to the other;
   each serve run is compared with the bare runs on either side of it and the median of
   those ratios is reported, so the result holds on any machine, even one whose speed
   drifts. After each run `serve` is killed (SIGKILL) and its database read with sqlite3:
   every acknowledged webhook must be there. Each measured run starts with the disk
   synced, so what earlier runs wrote is not written back in the middle of it.
2. Sustained: 300 customer messages per second (each customer's messages in order, one
   at a time), the strict fake Graph API recording when each reply arrives; reports the
   acknowledgement latency, the time from webhook to the first reply of each message,
   replies lost and duplicates (against bot.local.LocalConversations on the same
   messages) and the peak RSS of `serve`.
3. `--postgres`: the same over two `serve` instances on one fresh PostgreSQL schema.

`--profile` adds two diagnostics of the ingestion: `serve` under cProfile (bench/
e2e-serve.prof, its top in bench/e2e-serve-profile.txt) and `serve` with its workers idle
(bench/e2e_ingest_only.py), the acknowledgement path alone. Without wrk, or with
`--python-loadgen`, bench/e2e_loadgen.py sends the same bodies, and the output says so.

Prints a table and writes bench/results-e2e.json. Every child process is killed at the
end, Ctrl+C included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.devset import load  # noqa: E402
from bot.engine import Engine  # noqa: E402
from bot.local import LocalConversations  # noqa: E402
from tests.fakes import messenger as fb  # noqa: E402
from tests.fakes.graph import TOKEN  # noqa: E402
from tests.postgres import NoPostgres, scratch_schema  # noqa: E402

RESULTS = ROOT / "bench" / "results-e2e.json"
WEBHOOK = "/webhooks/messenger"
CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
SERVER_CPU = CPUS[-1]  # the server under test in the ingestion runs
LOADGEN_CPU = CPUS[0]  # wrk, the fake Graph API and this script
PRESIGNED_PER_SECOND = 20_000  # unique bodies prepared per second of ingestion


class BenchError(Exception):
    """A clear reason the benchmark cannot go on."""


# -- child processes ------------------------------------------------------------------------


class Children:
    """Every process this script starts, each in its own session, all killed at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
        log: Path | None = None,
        cpu: int | None = None,
        stdout_pipe: bool = False,
    ) -> subprocess.Popen[bytes]:
        def pin() -> None:
            if cpu is not None and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {cpu})

        # Logs go to a file, never to an unread pipe: a full pipe would stall the server.
        sink = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                list(argv),
                env={**os.environ, **(env or {})},
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if stdout_pipe else sink,
                stderr=sink,
                start_new_session=True,
                preexec_fn=pin if cpu is not None else None,
            )
        finally:
            if log is not None and not isinstance(sink, int):
                sink.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def kill_all(self) -> None:
        for process in reversed(self.processes):
            self.kill(process)
        self.processes.clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])


async def wait_ready(
    process: subprocess.Popen[bytes], url: str, what: str, log: Path | None, within: float = 30
) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"{what} exited with code {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise BenchError(f"{what} was not ready at {url} within {within:.0f} s:\n{tail(log)}")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path | None


async def start_helper(
    children: Children,
    kind: str,
    workdir: Path,
    cpu: int | None = None,
    wrapper: Sequence[str] = (),
    within: float = 30,
) -> Server:
    """A server of bench/e2e_servers.py; `wrapper`: a command it runs under (valgrind)."""
    port = free_port()
    log = workdir / f"{kind}-{port}.log"
    argv = [*wrapper, sys.executable, "-m", "bench.e2e_servers", kind, "--port", str(port)]
    process = children.start(argv, log=log, cpu=cpu)
    url = f"http://127.0.0.1:{port}"
    await wait_ready(process, f"{url}/_bench/ping", f"the {kind} server", log, within)
    return Server(process, url, log)


async def start_serve(
    children: Children,
    database_url: str,
    graph_url: str,
    workdir: Path,
    cpu: int | None = None,
    profile: Path | None = None,
    module: str = "bot",
    wrapper: Sequence[str] = (),
    within: float = 30,
) -> Server:
    port = free_port()
    log = workdir / f"serve-{port}.log"
    env = {
        "BOT_DATABASE_URL": database_url,
        "MESSENGER_APP_SECRET": fb.APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": fb.VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_API_URL": graph_url,
        "BOT_SEND_BACKOFF": "0.05",
        "BOT_SEND_BACKOFF_MAX": "1",
        "BOT_DRAIN_SECONDS": "1",
    }
    argv = [sys.executable, "-m", module, "serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile is not None:  # cProfile of the event loop's thread; written on SIGINT
        argv[1:1] = ["-m", "cProfile", "-o", str(profile)]
    argv[:0] = wrapper
    # The working directory is the temporary one: no `.env` of the checkout is read.
    # This checkout's code, whatever is installed: a worktree of an older commit measures
    # its own (and the modules of bench/ are outside the installed packages anyway).
    env["PYTHONPATH"] = str(ROOT)
    process = children.start(argv, env=env, cwd=workdir, log=log, cpu=cpu)
    url = f"http://127.0.0.1:{port}"
    await wait_ready(process, f"{url}/readyz", "serve", log, within)
    return Server(process, url, log)


async def settle_disk() -> None:
    """Write back what earlier runs left in the page cache before measuring (about 60 MB
    before each sustained run): the kernel would otherwise flush it in the middle of the
    next run, and the database's commits would wait behind it (on PostgreSQL, 1.5 GB
    written just before a sustained run made its reply p99 559 ms, 39 - 60 ms without)."""
    await asyncio.to_thread(os.sync)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu() -> float:
    """CPU seconds of every PostgreSQL process of the machine so far (0 where none runs):
    the database's share of a run, apart from the servers'."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return total


def machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy, and stolen by the hypervisor, so far."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# -- webhooks --------------------------------------------------------------------------------


def customer_texts() -> list[str]:
    return [text for _, text in load("devset")]


def psid(number: int) -> str:
    return str(7_100_000_000_000_000 + number)  # the shape of a page-scoped id


def webhook_body(sender: str, text: str, mid: str, timestamp_ms: int) -> bytes:
    event = {
        "sender": {"id": sender},
        "recipient": {"id": fb.PAGE_ID},
        "timestamp": timestamp_ms,
        "message": {"mid": mid, "text": text},
    }
    body = {
        "object": "page",
        "entry": [{"id": fb.PAGE_ID, "time": timestamp_ms, "messaging": [event]}],
    }
    return fb.encode(body)


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(fb.APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def write_bodies(path: Path, count: int, run: str, customers: int, seed: int = 1) -> list[str]:
    """`count` signed webhooks, one per line (signature TAB body); returns their mids."""
    rng = random.Random(seed)
    texts = customer_texts()
    now_ms = int(time.time() * 1000)
    mids = []
    with path.open("wb") as out:
        for i in range(count):
            mid = f"m_{run}_{i}"
            body = webhook_body(psid(rng.randrange(customers)), rng.choice(texts), mid, now_ms + i)
            assert b"\n" not in body and b"\t" not in body
            out.write(signature(body).encode() + b"\t" + body + b"\n")
            mids.append(mid)
    return mids


# -- ingestion with wrk ---------------------------------------------------------------------

WRK_LUA = r"""
-- Generated by bench/e2e.py: each request is the next pre-signed webhook of the file,
-- the file's lines shared out between wrk's threads.
local file = "@FILE@"
local nthreads = @THREADS@
local created = 0
local threads = {}

function setup(thread)
  thread:set("id", created)
  table.insert(threads, thread)
  created = created + 1
end

function init(args)
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", "@PATH@", {
        ["Content-Type"] = "application/json",
        ["X-Hub-Signature-256"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
    end
    i = i + 1
  end
  n = #reqs
  idx = 0
  wraps = 0
end

function request()
  idx = idx + 1
  if idx > n then
    idx = 1
    wraps = wraps + 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    parts[#parts + 1] = string.format('{"id": %d, "idx": %d, "wraps": %d, "n": %d}',
      t:get("id"), t:get("idx"), t:get("wraps"), t:get("n"))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"completed": %d, "duration_us": %d, "status_errors": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"threads": [%s]}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
"""


@dataclass
class WrkResult:
    completed: int
    ok: int  # answered 200 (2xx/3xx for wrk)
    errors: dict[str, int]
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    sent_indexes: list[int]  # file lines sent (answered or in flight at the end)
    wrapped: bool
    loadgen_cpu: float  # wrk's CPU seconds

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def wrk_script(workdir: Path, bodies: Path, threads: int) -> Path:
    script = workdir / f"wrk-{bodies.stem}.lua"
    script.write_text(
        WRK_LUA.replace("@FILE@", str(bodies))
        .replace("@THREADS@", str(threads))
        .replace("@PATH@", WEBHOOK)
    )
    return script


async def run_wrk(
    children: Children,
    url: str,
    bodies: Path,
    workdir: Path,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    cpu: int | None = None,
) -> WrkResult:
    wrk = shutil.which("wrk")
    assert wrk is not None
    script = wrk_script(workdir, bodies, threads)
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url + WEBHOOK,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = children.start(argv, cpu=cpu, stdout_pipe=True, log=workdir / "wrk.log")
    out, _ = await asyncio.to_thread(process.communicate)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in out.decode().splitlines() if line.startswith("BENCH ")]
    if process.returncode != 0 or not lines:
        raise BenchError(
            f"wrk failed (exit {process.returncode}):\n{out.decode()}\n{tail(workdir / 'wrk.log')}"
        )
    data = json.loads(lines[-1].removeprefix("BENCH "))
    errors = {k: data[k] for k in ("status_errors", "connect", "read", "write", "timeout")}
    sent: list[int] = []
    wrapped = False
    for t in data["threads"]:
        count = t["idx"] + t["wraps"] * t["n"]
        wrapped = wrapped or t["wraps"] > 0
        sent.extend(t["id"] + threads * k for k in range(min(count, t["n"])))
    return WrkResult(
        completed=data["completed"],
        ok=data["completed"] - data["status_errors"],
        errors=errors,
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
        max_ms=data["max_us"] / 1e3,
        sent_indexes=sent,
        wrapped=wrapped,
        loadgen_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


async def run_python_loadgen(
    children: Children,
    url: str,
    bodies: Path,
    workdir: Path,
    *,
    seconds: float,
    connections: int,
    cpu: int | None = None,
) -> WrkResult:
    """The fallback without wrk: bench/e2e_loadgen.py in two processes, same bodies."""
    parts = 2
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    processes = [
        children.start(
            [
                sys.executable,
                "-m",
                "bench.e2e_loadgen",
                url + WEBHOOK,
                str(bodies),
                "--part",
                str(part),
                "--parts",
                str(parts),
                "--seconds",
                f"{seconds:g}",
                "--connections",
                str(max(1, connections // parts)),
            ],
            cpu=cpu,
            stdout_pipe=True,
            log=workdir / "loadgen.log",
        )
        for part in range(parts)
    ]
    outputs = [await asyncio.to_thread(p.communicate) for p in processes]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    data = []
    for process, (out, _) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            raise BenchError(f"the Python load generator failed:\n{tail(workdir / 'loadgen.log')}")
        data.append(json.loads(out.decode().strip().splitlines()[-1]))
    latencies = [ms for d in data for ms in d["latencies_ms"]]
    sent: list[int] = []
    for part, d in enumerate(data):
        sent.extend(part + parts * k for k in range(min(d["sent"], d["n"])))
    ok = sum(d["ok"] for d in data)
    errors = {
        k: sum(d[k] for d in data) for k in ("status_errors", "connect", "read", "write", "timeout")
    }
    return WrkResult(
        completed=ok + errors["status_errors"],
        ok=ok,
        errors=errors,
        seconds=max(d["seconds"] for d in data),
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
        max_ms=max(latencies, default=float("nan")),
        sent_indexes=sent,
        wrapped=any(d["wraps"] for d in data),
        loadgen_cpu=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


LOADGEN = {"name": "wrk"}  # or "python", when wrk is missing or --python-loadgen


@dataclass
class Ingestion:
    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    acknowledged: int
    errors: dict[str, int]
    server_cpu: float  # share of one core the server used
    loadgen_cpu: float  # share of one core wrk used
    other_processes: float  # cores busy with processes not of this benchmark
    stored: int | None = None
    in_flight_at_end: int | None = None
    durable: bool | None = None
    processed: int | None = None
    note: str = ""
    # CPU per acknowledged webhook, in microseconds: the servers', and the database's.
    server_us_per_webhook: float = 0.0
    database_us_per_webhook: float = 0.0

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


async def ingest(
    children: Children,
    label: str,
    servers: list[Server],
    bodies: list[Path],
    workdir: Path,
    *,
    seconds: float,
    connections: int,
    pin: bool,
    helpers: Sequence[int] = (),
) -> tuple[Ingestion, list[WrkResult]]:
    """One wrk per server, all at once, each with its own file of bodies. `helpers`: pids
    of this benchmark's other processes (the fake Graph API), not counted as other load."""
    await settle_disk()
    pids = [s.process.pid for s in servers]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    helpers_before = sum(cpu_seconds(pid) for pid in helpers)
    machine_before, _ = machine_cpu()
    database_before = database_cpu()
    self_before = own_cpu()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    generator = run_wrk if LOADGEN["name"] == "wrk" else run_python_loadgen
    results = await asyncio.gather(
        *(
            generator(
                children,
                server.url,
                body_file,
                workdir,
                seconds=seconds,
                connections=connections,
                cpu=LOADGEN_CPU if pin else None,
            )
            for server, body_file in zip(servers, bodies, strict=True)
        )
    )
    cpu_after = [cpu_seconds(pid) for pid in pids]
    database = database_cpu() - database_before
    window = time.monotonic() - began
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    loadgen = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    ours = sum(b - a for a, b in zip(cpu_before, cpu_after, strict=True)) + loadgen
    ours += sum(cpu_seconds(pid) for pid in helpers) - helpers_before + own_cpu() - self_before
    others = max(0.0, (machine_cpu()[0] - machine_before - ours) / window)
    ok = sum(r.ok for r in results)
    span = max(r.seconds for r in results)
    served = sum(b - a for a, b in zip(cpu_before, cpu_after, strict=True))
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    return (
        Ingestion(
            label=label,
            rate=ok / span,
            p50_ms=max(r.p50_ms for r in results),
            p99_ms=max(r.p99_ms for r in results),
            max_ms=max(r.max_ms for r in results),
            acknowledged=ok,
            errors={k: v for k, v in errors.items() if v},
            server_cpu=served / span,
            loadgen_cpu=loadgen / window,
            other_processes=others,
            server_us_per_webhook=served / ok * 1e6 if ok else float("nan"),
            database_us_per_webhook=database / ok * 1e6 if ok else float("nan"),
        ),
        list(results),
    )


def check_durability(
    result: Ingestion, wrks: list[WrkResult], mids: list[list[str]], stored: set[str]
) -> None:
    """Every acknowledged webhook is stored: stored ≥ acknowledged, and the only extra rows
    are requests still in flight when wrk stopped (sent, stored, never answered)."""
    sent: set[str] = set()
    for wrk, file_mids in zip(wrks, mids, strict=True):
        sent.update(file_mids[i] for i in wrk.sent_indexes)
    in_flight = sum(len(w.sent_indexes) - w.completed for w in wrks)
    result.stored = len(stored)
    result.in_flight_at_end = in_flight
    strangers = stored - sent
    missing = result.acknowledged - len(stored & sent)
    result.durable = (
        not strangers and missing <= 0 and len(stored) - result.acknowledged <= in_flight
    )
    if any(w.wrapped for w in wrks):
        result.durable = None
        result.note = "ran out of unique bodies (wrapped): durability not checked"
    if strangers:
        result.note += f" {len(strangers)} rows with unknown mids"


# -- sustained load ---------------------------------------------------------------------------


@dataclass
class Sent:
    customer: str
    number: int
    text: str
    at: float = 0.0  # monotonic, just before the POST
    acked: float = 0.0
    status: int = 0
    late: float = 0.0  # behind schedule when sent (the customer's previous one was slow)


@dataclass
class Sustained:
    label: str
    target_rate: int
    seconds: float
    customers: int
    messages: int
    accepted: int
    accepted_rate: float
    ack_p50_ms: float
    ack_p99_ms: float
    reply_p50_ms: float
    reply_p99_ms: float
    reply_max_ms: float
    replies_expected: int
    replies_received: int
    lost: int  # customer messages whose first reply never came
    duplicates: int  # replies received beyond the expected ones
    out_of_order: int  # customers whose replies differ in order/text
    rejected_by_graph: int
    peak_rss_mb: float
    server_cpu: float
    max_late_ms: float
    without_reply: int = 0  # messages the engine answers with nothing (not lost)
    stages: dict[str, float] = field(default_factory=dict)
    graph_cpu: float = 0.0  # share of one core the fake Graph API used
    machine_busy: float = 0.0  # cores busy, the whole machine, during the run and drain
    other_processes: float = 0.0  # cores busy with processes not of this benchmark
    steal: float = 0.0  # cores' worth of time the hypervisor took
    # CPU per customer message answered, in milliseconds: the servers', the database's.
    server_ms_per_message: float = 0.0
    database_ms_per_message: float = 0.0
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return self.__dict__.copy()


def plan(rate: int, seconds: float, seed: int = 7) -> tuple[list[Sent], int]:
    total = int(rate * seconds)
    # At most ~10 messages per customer a minute: under the flood guard (12 a minute).
    customers = max(1000, total // 9)
    rng = random.Random(seed)
    texts = customer_texts()
    messages = []
    counts: dict[str, int] = {}
    for i in range(total):
        who = psid(i % customers)
        counts[who] = counts.get(who, 0) + 1
        messages.append(Sent(who, counts[who] - 1, rng.choice(texts)))
    return messages, customers


async def send_load(
    messages: list[Sent], urls: list[str], rate: int, run: str
) -> tuple[float, float]:
    """Message i is due at start + i/rate; a customer's next waits for its previous ack."""
    by_customer: dict[str, list[tuple[int, Sent]]] = {}
    for i, m in enumerate(messages):
        by_customer.setdefault(m.customer, []).append((i, m))
    pick = random.Random(11)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.5
    wall_start = time.time() + 0.5

    async def customer(session: aiohttp.ClientSession, items: list[tuple[int, Sent]]) -> None:
        for i, m in items:
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            m.late = max(0.0, loop.time() - due)
            body = webhook_body(
                m.customer,
                m.text,
                f"m_{run}_{m.customer}_{m.number}",
                int((wall_start + i / rate) * 1000),
            )
            headers = {"X-Hub-Signature-256": signature(body), "Content-Type": "application/json"}
            url = pick.choice(urls) + WEBHOOK
            m.at = time.monotonic()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    m.status = response.status
            except (aiohttp.ClientError, OSError):
                m.status = -1
            m.acked = time.monotonic()

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    began = time.monotonic()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(customer(session, items) for items in by_customer.values()))
    return began + 0.5, time.monotonic()


def expected_replies(messages: list[Sent]) -> dict[str, list[list[str]]]:
    """Per customer, per message in order, the texts the engine answers."""
    local = LocalConversations(Engine.default())
    expected: dict[str, list[list[str]]] = {}
    for m in messages:
        outcome = local.send(m.customer, m.text)
        expected.setdefault(m.customer, []).append([r.text for r in outcome.replies])
    return expected


async def graph_records(graph_url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{graph_url}/_bench/records") as r:
        data: dict[str, Any] = await r.json()
        return data


async def sustained(
    children: Children,
    label: str,
    servers: list[Server],
    graph: Server,
    *,
    rate: int,
    seconds: float,
) -> Sustained:
    messages, customers = plan(rate, seconds)
    expected = expected_replies(messages)
    total_expected = sum(len(r) for per in expected.values() for r in per)
    await settle_disk()
    pids = [s.process.pid for s in servers]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    graph_before = cpu_seconds(graph.process.pid)
    machine_before, steal_before = machine_cpu()
    database_before = database_cpu()
    self_before = own_cpu()
    run = uuid.uuid4().hex[:6]
    began, ended = await send_load(messages, [s.url for s in servers], rate, run)

    # Wait for the replies (nothing more after 20 s is "lost"), then a second for strays.
    deadline = time.monotonic() + 20
    data = await graph_records(graph.url)
    while len(data["records"]) < total_expected and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        data = await graph_records(graph.url)
    await asyncio.sleep(1.0)
    data = await graph_records(graph.url)
    cpu_after = [cpu_seconds(pid) for pid in pids]
    database = database_cpu() - database_before
    window = time.monotonic() - began
    graph_cpu = (cpu_seconds(graph.process.pid) - graph_before) / window
    machine_after, steal_after = machine_cpu()
    machine_busy = (machine_after - machine_before) / window
    ours = sum(b - a for a, b in zip(cpu_before, cpu_after, strict=True)) / window
    ours += graph_cpu + (own_cpu() - self_before) / window
    rss = max(peak_rss_mb(pid) for pid in pids)

    received: dict[str, list[tuple[float, str]]] = {}
    for at, recipient, text in data["records"]:
        received.setdefault(recipient, []).append((at, text))
    sent_by: dict[str, list[Sent]] = {}
    for m in messages:
        sent_by.setdefault(m.customer, []).append(m)

    latencies: list[float] = []
    lost = duplicates = out_of_order = without_reply = 0
    for who, per_message in expected.items():
        got = received.get(who, [])
        if [t for _, t in got] != [t for texts in per_message for t in texts]:
            out_of_order += 1
        cursor = 0  # align the received texts with the expected ones, in order
        for m, texts in zip(sent_by[who], per_message, strict=True):
            if not texts:
                without_reply += 1
                continue
            first_at: float | None = None
            for text in texts:
                j = cursor
                while j < len(got) and got[j][1] != text:
                    j += 1
                if j < len(got):
                    duplicates += j - cursor  # texts received that were not expected here
                    if first_at is None:
                        first_at = got[j][0]
                    cursor = j + 1
            if first_at is None:
                lost += 1
            else:
                latencies.append(first_at - m.at)
        duplicates += len(got) - cursor
    strangers = set(received) - set(expected)
    duplicates += sum(len(received[s]) for s in strangers)

    accepted = [m for m in messages if m.status == 200]
    acks = [m.acked - m.at for m in accepted]
    span = ended - began
    notes = []
    statuses = sorted({m.status for m in messages if m.status != 200})
    if statuses:
        notes.append(f"non-200 answers: {statuses}")
    return Sustained(
        label=label,
        target_rate=rate,
        seconds=seconds,
        customers=customers,
        messages=len(messages),
        accepted=len(accepted),
        accepted_rate=len(accepted) / span,
        ack_p50_ms=percentile(acks, 0.5) * 1e3,
        ack_p99_ms=percentile(acks, 0.99) * 1e3,
        reply_p50_ms=percentile(latencies, 0.5) * 1e3,
        reply_p99_ms=percentile(latencies, 0.99) * 1e3,
        reply_max_ms=max(latencies, default=float("nan")) * 1e3,
        replies_expected=total_expected,
        replies_received=len(data["records"]),
        lost=lost,
        duplicates=duplicates,
        out_of_order=out_of_order,
        rejected_by_graph=len(data["rejected"]),
        peak_rss_mb=rss,
        server_cpu=sum(b - a for a, b in zip(cpu_before, cpu_after, strict=True))
        / (time.monotonic() - began),
        max_late_ms=max(m.late for m in messages) * 1e3,
        without_reply=without_reply,
        graph_cpu=graph_cpu,
        machine_busy=machine_busy,
        other_processes=max(0.0, machine_busy - ours),
        steal=(steal_after - steal_before) / window,
        server_ms_per_message=sum(b - a for a, b in zip(cpu_before, cpu_after, strict=True))
        / max(1, len(accepted)) * 1e3,
        database_ms_per_message=database / max(1, len(accepted)) * 1e3,
        notes=notes,
    )


# -- the runs -----------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    postgres: bool
    connections: int
    rate: int
    profile: bool = False
    python_loadgen: bool = False

    @property
    def ingest_seconds(self) -> float:
        return 3.0 if self.quick else 8.0

    @property
    def ingest_rounds(self) -> int:
        """serve runs on SQLite, each between two runs of the bare server."""
        return 2 if self.quick else 3

    @property
    def sustain_seconds(self) -> float:
        return 10.0 if self.quick else 30.0


def choose_loadgen(forced_python: bool) -> str:
    if forced_python:
        LOADGEN["name"] = "python"
        return "Python load generator (--python-loadgen): slower than the servers, see its CPU"
    if shutil.which("wrk"):
        return "wrk 4.1, Lua script over pre-signed bodies"
    LOADGEN["name"] = "python"
    return (
        "wrk not found (Debian: apt-get install -y wrk): FALLING BACK to the Python load "
        "generator (2 processes of aiohttp clients); it may be the bottleneck, see its CPU"
    )


def inbox_mids_sqlite(path: Path) -> tuple[set[str], int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        # Acknowledged events are appended to `arrivals`, then moved into `inbox`.
        mids = {
            row[0]
            for row in db.execute(
                "SELECT platform_id FROM inbox UNION ALL SELECT platform_id FROM arrivals"
            )
        }
        processed = db.execute("SELECT count(*) FROM inbox WHERE status != 'pending'").fetchone()[0]
    finally:
        db.close()
    return mids, int(processed)


async def inbox_mids_postgres(url: str) -> tuple[set[str], int]:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        mids = {row[0] for row in await db.fetch("SELECT platform_id FROM inbox")}
        processed = await db.fetchval("SELECT count(*) FROM inbox WHERE status != 'pending'")
    finally:
        await db.close()
    return mids, int(processed)


def stages_sqlite(path: Path) -> dict[str, float]:
    """Where a message's time goes inside serve, from the store's own timestamps (ms):
    inbox = received → turn committed (queue + engine + commit); outbox = reply created →
    sent and recorded (queue + "seen"/"typing" + Send API + commit), first replies only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        inbox = [r[0] for r in db.execute("SELECT done_at - received_at FROM inbox WHERE done_at")]
        outbox = [
            r[0]
            for r in db.execute(
                "SELECT sent_at - created_at FROM outbox WHERE sent_at AND first_of_turn = 1"
            )
        ]
    finally:
        db.close()
    return {
        "inbox_p50_ms": percentile(inbox, 0.5) * 1e3,
        "inbox_p99_ms": percentile(inbox, 0.99) * 1e3,
        "outbox_first_p50_ms": percentile(outbox, 0.5) * 1e3,
        "outbox_first_p99_ms": percentile(outbox, 0.99) * 1e3,
    }


async def stages_postgres(url: str) -> dict[str, float]:
    """`stages_sqlite` on PostgreSQL."""
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        inbox = [
            r[0]
            for r in await db.fetch(
                "SELECT done_at - received_at FROM inbox WHERE done_at IS NOT NULL"
            )
        ]
        outbox = [
            r[0]
            for r in await db.fetch(
                "SELECT sent_at - created_at FROM outbox"
                " WHERE sent_at IS NOT NULL AND first_of_turn"
            )
        ]
    finally:
        await db.close()
    return {
        "inbox_p50_ms": percentile(inbox, 0.5) * 1e3,
        "inbox_p99_ms": percentile(inbox, 0.99) * 1e3,
        "outbox_first_p50_ms": percentile(outbox, 0.5) * 1e3,
        "outbox_first_p99_ms": percentile(outbox, 0.99) * 1e3,
    }


def prepare_bodies(
    workdir: Path, name: str, count: int, customers: int = 2000
) -> tuple[Path, list[str]]:
    path = workdir / f"bodies-{name}.tsv"
    mids = write_bodies(
        path, count, f"{name}{uuid.uuid4().hex[:6]}", customers, seed=hash(name) & 0xFFFF
    )
    return path, mids


async def sqlite_runs(
    children: Children, opts: Options, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    count = int(PRESIGNED_PER_SECOND * opts.ingest_seconds)
    t0 = time.monotonic()
    bodies, mids = prepare_bodies(workdir, "sqlite", count)
    say(f"{count:,} signed webhooks written in {time.monotonic() - t0:.1f} s")

    # Ingestion: the bare server and serve in turns, one core each, wrk on the other. This
    # machine's speed drifts by tens of per cent from one run to the next, so each serve run
    # is compared with the bare runs just before and after it, and the median is reported.
    async def bare_run(number: int) -> Ingestion:
        bare = await start_helper(children, "bare", workdir, cpu=SERVER_CPU)
        result, _ = await ingest(
            children, f"bare aiohttp, run {number}", [bare], [bodies], workdir,
            seconds=opts.ingest_seconds, connections=opts.connections, pin=True,
        )  # fmt: skip
        children.kill(bare.process)
        say(f"{result.label}: {result.rate:,.0f} webhooks/s")
        return result

    async def serve_run(number: int) -> Ingestion:
        graph = await start_helper(children, "graph-fast", workdir, cpu=LOADGEN_CPU)
        db = workdir / f"ingest-{number}.sqlite3"
        serve = await start_serve(children, f"sqlite:///{db}", graph.url, workdir, cpu=SERVER_CPU)
        result, wrks = await ingest(
            children, f"serve, SQLite, run {number}", [serve], [bodies], workdir,
            seconds=opts.ingest_seconds, connections=opts.connections, pin=True,
        )  # fmt: skip
        children.kill(serve.process)  # SIGKILL: what was acknowledged must be on disk anyway
        children.kill(graph.process)
        stored, processed = inbox_mids_sqlite(db)
        check_durability(result, wrks, [mids], stored)
        result.processed = processed
        say(f"{result.label}: {result.rate:,.0f} webhooks/s, stored {len(stored):,}")
        return result

    bares = [await bare_run(1)]
    serves = []
    for number in range(1, opts.ingest_rounds + 1):
        serves.append(await serve_run(number))
        bares.append(await bare_run(number + 1))
    ratios = [
        serve.rate / ((before.rate + after.rate) / 2)
        for serve, before, after in zip(serves, bares, bares[1:], strict=False)
    ]
    runs = [row for pair in zip(bares, serves, strict=False) for row in pair] + [bares[-1]]
    out["ingestion"] = {
        "runs": [run.row() for run in runs],
        "ratios": ratios,
        "ratio": statistics.median(ratios),
    }

    # Sustained load, serve not pinned (a real deployment's two cores).
    graph = await start_helper(children, "graph", workdir)
    db = workdir / "sustained.sqlite3"
    serve = await start_serve(children, f"sqlite:///{db}", graph.url, workdir)
    result = await sustained(
        children, "serve, SQLite", [serve], graph, rate=opts.rate, seconds=opts.sustain_seconds
    )
    children.kill(serve.process)
    children.kill(graph.process)
    result.stages = stages_sqlite(db)
    say(
        f"sustained (SQLite): reply p99 {result.reply_p99_ms:.1f} ms, lost {result.lost}; "
        f"stages {result.stages}"
    )
    out["sustained"] = result.row()
    return out


async def profile_ingestion(
    children: Children, opts: Options, workdir: Path, say: Callable[[str], None]
) -> str:
    """The SQLite ingestion again, `serve` under cProfile; the top of its profile."""
    import io
    import pstats

    bodies, _ = prepare_bodies(workdir, "profile", int(PRESIGNED_PER_SECOND * opts.ingest_seconds))
    graph = await start_helper(children, "graph-fast", workdir, cpu=LOADGEN_CPU)
    prof = ROOT / "bench" / "e2e-serve.prof"
    serve = await start_serve(
        children, f"sqlite:///{workdir / 'profile.sqlite3'}", graph.url, workdir,
        cpu=SERVER_CPU, profile=prof,
    )  # fmt: skip
    result, _ = await ingest(
        children, "serve under cProfile", [serve], [bodies], workdir,
        seconds=opts.ingest_seconds, connections=opts.connections, pin=True,
    )  # fmt: skip
    children.kill(serve.process, signal.SIGINT)  # a clean exit, so that the profile is written
    children.kill(graph.process)
    say(f"under cProfile: {result.rate:,.0f} webhooks/s; profile in {prof.relative_to(ROOT)}")

    # The acknowledgement path alone: the same serve with its workers idle.
    bodies, _ = prepare_bodies(workdir, "alone", int(PRESIGNED_PER_SECOND * opts.ingest_seconds))
    serve = await start_serve(
        children, f"sqlite:///{workdir / 'alone.sqlite3'}", "http://127.0.0.1:9", workdir,
        cpu=SERVER_CPU, module="bench.e2e_ingest_only",
    )  # fmt: skip
    alone, _ = await ingest(
        children, "serve, workers idle", [serve], [bodies], workdir,
        seconds=opts.ingest_seconds, connections=opts.connections, pin=True,
    )  # fmt: skip
    children.kill(serve.process)
    say(
        f"serve with its workers idle (acknowledgement path alone): {alone.rate:,.0f} "
        f"webhooks/s, ack p50 {alone.p50_ms:.2f} ms, p99 {alone.p99_ms:.2f} ms, "
        f"server CPU {alone.server_cpu:.0%}"
    )
    if not prof.exists():
        return "no profile written"
    out = io.StringIO()
    out.write(
        f"serve, workers idle (diagnostic): {alone.rate:,.0f} webhooks/s, "
        f"ack p50 {alone.p50_ms:.2f} ms, p99 {alone.p99_ms:.2f} ms, "
        f"server CPU {alone.server_cpu:.0%}\n\n"
    )
    stats = pstats.Stats(str(prof), stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


@contextlib.asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    try:
        async with scratch_schema("bench_") as url:
            yield url
    except NoPostgres as exc:
        raise BenchError(f"{exc}; set BOT_TEST_POSTGRES_URL") from None


async def postgres_runs(
    children: Children, opts: Options, workdir: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Two instances on one schema: sustained load, then ingestion with one wrk each."""
    out: dict[str, Any] = {}
    async with postgres_schema() as url:
        graph = await start_helper(children, "graph", workdir)
        servers = [await start_serve(children, url, graph.url, workdir) for _ in range(2)]
        result = await sustained(
            children,
            "2 × serve, PostgreSQL",
            servers,
            graph,
            rate=opts.rate,
            seconds=opts.sustain_seconds,
        )
        for s in servers:
            children.kill(s.process)
        children.kill(graph.process)
        result.stages = await stages_postgres(url)
        say(f"sustained (PostgreSQL): reply p99 {result.reply_p99_ms:.1f} ms, lost {result.lost}")
        out["sustained"] = result.row()

    async with postgres_schema() as url:
        # Ingestion: the same two-and-two shape for the reference (two bare servers), no
        # pinning: four servers, PostgreSQL and two wrk share the machine's cores.
        count = int(PRESIGNED_PER_SECOND * opts.ingest_seconds / 2)
        files = [prepare_bodies(workdir, f"pg{i}", count) for i in range(2)]

        async def both(label: str, servers: list[Server]) -> tuple[Ingestion, list[WrkResult]]:
            """One wrk per server, each with its own file of bodies, half the connections."""
            return await ingest(
                children, label, servers, [f for f, _ in files], workdir,
                seconds=opts.ingest_seconds, connections=opts.connections // 2, pin=False,
            )  # fmt: skip

        bares = [await start_helper(children, "bare", workdir) for _ in range(2)]
        bare_result, _ = await both("2 × bare aiohttp", bares)
        for b in bares:
            children.kill(b.process)
        graph = await start_helper(children, "graph-fast", workdir)
        servers = [await start_serve(children, url, graph.url, workdir) for _ in range(2)]
        serve_result, wrks = await both("2 × serve, PostgreSQL", servers)
        for s in servers:
            children.kill(s.process)
        children.kill(graph.process)
        stored, processed = await inbox_mids_postgres(url)
        check_durability(serve_result, wrks, [m for _, m in files], stored)
        serve_result.processed = processed
        say(f"serve (PostgreSQL ×2): {serve_result.rate:,.0f} webhooks/s")
        out["ingestion"] = {
            "bare": bare_result.row(),
            "serve": serve_result.row(),
            "ratio": serve_result.rate / bare_result.rate if bare_result.rate else None,
        }
    return out


# -- report ---------------------------------------------------------------------------------------


def fmt(value: Any, spec: str = ",.0f") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value != value:
        return "–"
    return format(value, spec)


def ingestion_runs(ingestion: dict[str, Any]) -> list[tuple[dict[str, Any], float | None]]:
    """Each run of an ingestion, in order, with its ratio to the bare server for serve's."""
    if "runs" in ingestion:  # SQLite: bare and serve in turns
        ratios = iter(ingestion["ratios"])
        return [
            (row, next(ratios) if row["label"].startswith("serve") else None)
            for row in ingestion["runs"]
        ]
    return [(ingestion["bare"], None), (ingestion["serve"], ingestion["ratio"])]


def table(results: dict[str, Any]) -> str:
    lines = []
    ingestion_rows = []
    for store in ("sqlite", "postgres"):
        if store in results and "ingestion" in results[store]:
            ingestion_rows += ingestion_runs(results[store]["ingestion"])
    if ingestion_rows:
        lines.append(
            "| ingestion | webhooks/s | vs bare | ack p50 | ack p99 | server CPU | load gen. CPU "
            "| acknowledged | stored | durable | processed meanwhile | other load |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row, ratio in ingestion_rows:
            durable = {True: "yes", False: "NO", None: "–"}[row["durable"]]
            stored = fmt(row["stored"]) if row["stored"] is not None else "–"
            if row["in_flight_at_end"]:
                stored += f" ({row['in_flight_at_end']} unanswered at stop)"
            lines.append(
                f"| {row['label']} | {fmt(row['rate'])} | {fmt(ratio, '.0%') if ratio else ''} "
                f"| {fmt(row['p50_ms'], '.2f')} ms | {fmt(row['p99_ms'], '.2f')} ms "
                f"| {fmt(row['server_cpu'], '.0%')} | {fmt(row['loadgen_cpu'], '.0%')} "
                f"| {fmt(row['acknowledged'])} | {stored} | {durable} | {fmt(row['processed'])} "
                f"| {fmt(row['other_processes'], '.2f')} cores |"
            )
    sustained_rows = [
        results[s]["sustained"]
        for s in ("sqlite", "postgres")
        if s in results and "sustained" in results[s]
    ]
    if sustained_rows:
        lines.append("")
        lines.append(
            "| sustained | messages | accepted/s | ack p50 | ack p99 | first reply p50 "
            "| first reply p99 | lost | duplicates | peak RSS | server CPU | other load |"
        )
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for row in sustained_rows:
            lines.append(
                f"| {row['label']}, {row['target_rate']}/s × {row['seconds']:g} s "
                f"| {fmt(row['messages'])} | {fmt(row['accepted_rate'])} "
                f"| {fmt(row['ack_p50_ms'], '.1f')} ms | {fmt(row['ack_p99_ms'], '.1f')} ms "
                f"| {fmt(row['reply_p50_ms'], '.1f')} ms | {fmt(row['reply_p99_ms'], '.1f')} ms "
                f"| {row['lost']} | {row['duplicates']} | {fmt(row['peak_rss_mb'], '.0f')} MB "
                f"| {fmt(row['server_cpu'], '.0%')} "
                f"| {fmt(row['other_processes'], '.2f')} cores |"
            )
    for row in sustained_rows:
        st = row.get("stages")
        if st:
            lines.append(
                f"\n{row['label']}, inside serve (store timestamps): inbox → turn committed "
                f"p50 {st['inbox_p50_ms']:.1f} ms, p99 {st['inbox_p99_ms']:.1f} ms; "
                f"first reply created → sent p50 {st['outbox_first_p50_ms']:.1f} ms, "
                f"p99 {st['outbox_first_p99_ms']:.1f} ms"
            )
    return "\n".join(lines)


def verdicts(results: dict[str, Any]) -> list[str]:
    out = []
    noisy = []
    for store in ("sqlite", "postgres"):
        part = results.get(store, {})
        rows = [part[k] for k in ("sustained",) if k in part]
        if "ingestion" in part:
            rows += [row for row, _ in ingestion_runs(part["ingestion"])]
        noisy += [
            f"{r['label']} {r['other_processes']:.2f}" for r in rows if r["other_processes"] > 0.2
        ]
    if noisy:
        out.append(
            "other processes used the machine during: " + ", ".join(noisy) + " cores "
            "(for PostgreSQL this includes the database server): those figures are lower bounds"
        )
    for store in ("sqlite", "postgres"):
        part = results.get(store, {})
        if "ingestion" in part and part["ingestion"]["ratio"] is not None:
            ingestion = part["ingestion"]
            ratio = ingestion["ratio"]
            ratios = ingestion.get("ratios", [ratio])
            spread = (
                f"median of {len(ratios)} runs, {min(ratios):.0%}–{max(ratios):.0%}"
                if len(ratios) > 1
                else "one run"
            )
            out.append(
                f"{store}: ingestion {ratio:.0%} of bare ({spread}; target ≥ 50 %): "
                + ("met" if ratio >= 0.5 else "NOT met")
            )
            if store == "postgres":
                bare, served = ingestion["bare"], ingestion["serve"]
                times = served["server_us_per_webhook"] / bare["server_us_per_webhook"]
                out.append(
                    f"postgres: CPU per stored webhook: serve {served['server_us_per_webhook']:.0f}"
                    f" µs, the database {served['database_us_per_webhook']:.0f} µs apart, the "
                    f"bare server {bare['server_us_per_webhook']:.0f} µs: serve {times:.2f}× "
                    f"(target ≤ 2×): {'met' if times <= 2 else 'NOT met'}"
                )
            generators = 2 if store == "postgres" else 1  # one wrk per server
            for row, serve_ratio in ingestion_runs(ingestion):
                if serve_ratio is None:
                    if row["loadgen_cpu"] > 0.85 * generators:
                        out.append(
                            f"{store}: the load generator used {row['loadgen_cpu']:.0%} of a "
                            f"core in {row['label']}: it may be what limits the bare rate, so "
                            "the ratio is an upper bound"
                        )
                    continue
                if row["note"]:
                    out.append(f"{store}: {row['label']}: {row['note'].strip()}")
                if row["errors"]:
                    out.append(f"{store}: {row['label']}: ingestion errors {row['errors']}")
        if "sustained" in part:
            s = part["sustained"]
            checks = [
                ("reply p99 ≤ 100 ms", s["reply_p99_ms"] <= 100),
                ("nothing lost", s["lost"] == 0),
                ("no duplicate", s["duplicates"] == 0),
                ("RSS ≤ 200 MB", s["peak_rss_mb"] <= 200),
            ]
            out.append(
                f"{store}: sustained: "
                + ", ".join(f"{name} {'met' if ok else 'NOT met'}" for name, ok in checks)
            )
            out.append(
                f"{store}: CPU per message answered: serve {s['server_ms_per_message']:.2f} ms, "
                f"the database {s['database_ms_per_message']:.2f} ms"
            )
            if s["out_of_order"]:
                out.append(
                    f"{store}: {s['out_of_order']} customers got replies differing from "
                    "the engine's"
                )
            if s["rejected_by_graph"]:
                out.append(f"{store}: the fake Graph API refused {s['rejected_by_graph']} requests")
            for note in s["notes"]:
                out.append(f"{store}: {note}")
            if s["max_late_ms"] > 50:
                out.append(
                    f"{store}: the load generator was up to {s['max_late_ms']:.0f} ms "
                    "behind schedule"
                )
            if s["steal"] > 0.05:
                out.append(
                    f"{store}: the hypervisor took {s['steal']:.2f} of a core from this "
                    "machine during the sustained run (steal): its latencies are a slower "
                    "machine's"
                )
    return out


async def run(opts: Options, children: Children, results: dict[str, Any]) -> None:
    generator = choose_loadgen(opts.python_loadgen)
    print(f"load generator: {generator}", file=sys.stderr, flush=True)
    if len(CPUS) < 2:
        print("warning: one CPU only: server and wrk share it", file=sys.stderr)

    def say(text: str) -> None:
        print(f"  {text}", file=sys.stderr, flush=True)

    results |= {
        "machine": {
            "cpus": len(CPUS),
            "python": sys.version.split()[0],
        },
        "load_generator": generator,
        "mode": "quick" if opts.quick else "full",
        "connections": opts.connections,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "load_average_at_start": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        workdir = Path(tmp)
        try:
            print("SQLite: one serve", file=sys.stderr, flush=True)
            results["sqlite"] = await sqlite_runs(children, opts, workdir, say)
            if opts.profile:
                print("cProfile of serve during ingestion", file=sys.stderr, flush=True)
                results["profile"] = await profile_ingestion(children, opts, workdir, say)
            if opts.postgres:
                print("PostgreSQL: two serve on one schema", file=sys.stderr, flush=True)
                results["postgres"] = await postgres_runs(children, opts, workdir, say)
        except BenchError:
            children.kill_all()
            raise
        finally:
            children.kill_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (under a minute)")
    parser.add_argument("--postgres", action="store_true", help="also two serve on PostgreSQL")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    parser.add_argument("--rate", type=int, default=300, help="sustained messages/s (300)")
    parser.add_argument(
        "--profile", action="store_true", help="also profile serve's ingestion (cProfile)"
    )
    parser.add_argument(
        "--python-loadgen", action="store_true", help="use the Python load generator, not wrk"
    )
    args = parser.parse_args()
    opts = Options(
        args.quick, args.postgres, args.connections, args.rate, args.profile, args.python_loadgen
    )

    children = Children()

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started in background
    started = time.monotonic()
    results: dict[str, Any] = {}
    try:
        asyncio.run(run(opts, children, results))
    except KeyboardInterrupt:
        children.kill_all()
        print("interrupted; every child process was stopped", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        children.kill_all()
        results["error"] = str(exc)
        RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(f"bench/e2e.py: {exc}\n(partial results in {RESULTS})", file=sys.stderr)
        sys.exit(1)
    finally:
        children.kill_all()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    profile = results.pop("profile", None)
    if profile:
        (ROOT / "bench" / "e2e-serve-profile.txt").write_text(profile, "utf-8")
        print(profile)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print()
    print(f"load generator: {results['load_generator']}")
    print(table(results))
    print()
    for line in verdicts(results):
        print(f"- {line}")
    print(f"\n{results['elapsed_s']:.0f} s in all; results in {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
