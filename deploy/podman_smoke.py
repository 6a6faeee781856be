"""The image and compose.yaml, built and run under podman: `python -m deploy.podman_smoke`.

For a machine without a Docker daemon or a container registry (CI's, for one): Debian's
podman runs the containers with the settings of deploy/podman/containers.conf, and an image
that can be neither found nor pulled is made here. The Dockerfile's base, python:3.11-slim,
from Debian bookworm (debootstrap, its python3 3.11, pip's EXTERNALLY-MANAGED marker removed,
this machine's CA bundle copied in); compose.yaml's PostgreSQL and nginx from Debian's
packages (deploy/podman/*.Containerfile). Then, each step timed:

1. the image alone, on the host's network, on 127.0.0.1 only: /healthz, /chat, its
   HEALTHCHECK, signed Messenger webhooks answered once each at a fake Graph API (whose
   echoes go back to the container), and SIGTERM while a reply is held at the fake: the
   container exits with status 0 within BOT_DRAIN_SECONDS and a few seconds; started
   again, it sends the reply the drain cut, once;
2. compose.yaml under podman-compose, as written (PostgreSQL, two bot replicas, nginx), with
   a fake Graph API as one more service: webhooks through nginx answered once each and in
   order, both replicas at work on the one database, the same SIGTERM check for both, then
   both started again at new addresses and reached through nginx.

Exits with status 0 when everything held; 2 when podman or root is missing (with the reason).
Needs root, and Debian's podman, runc, netavark, aardvark-dns, iptables (netavark's firewall
rules for compose's network), podman-compose and debootstrap.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PODMAN_DIR = ROOT / "deploy" / "podman"
CONTAINERS_CONF = PODMAN_DIR / "containers.conf"
IMAGE = "localhost/parallels-support-bot:smoke"
STANDINS = ("postgres", "nginx")  # compose.yaml's images made from Debian's packages
PROJECT = "botsmoke"  # podman-compose's project: containers botsmoke_bot_1, …
DRAIN = 4.0  # BOT_DRAIN_SECONDS in these runs
# A reply cut by the drain is sent again after a restart once its lease ran out: short
# here, yet well over twice the send timeout (a reply's "seen" mark, then the reply, may
# each take it), with room to spare on a loaded machine. The wait for an echo is the
# product's: on a loaded machine a send may time out after the fake Graph API took it, and
# its echo come late; a shorter wait would let the bot send that reply again, as
# documented, and the checks below see it twice.
FAST_RESEND = {"BOT_LEASE_SECONDS": "15", "BOT_SEND_TIMEOUT": "3", "BOT_UNCONFIRMED_WAIT": "10"}
MARGIN = 5.0  # the "few seconds" a stop may take beyond the drain time
STOP_GRACE = 30  # compose.yaml's stop_grace_period for the bot, in seconds
DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_PYTHON = "3.11"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GRAPH_PORT = 8081  # the fake Graph API's port inside the compose network
CUSTOMERS = {  # what each customer writes, message after message
    "smoke-1": ["mdp oublié", "non"],
    "smoke-2": ["bonjour", "ma licence ne marche plus"],
    "smoke-3": ["je veux parler à quelqu'un"],
    "smoke-4": ["remboursement", "merci"],
}
DRAINED = {"smoke-drain": ["bonjour"]}  # sent while the Graph API holds every request
AFTER = {  # sent once the containers were started again
    "smoke-5": ["bonjour", "mdp oublié"],
    "smoke-6": ["ma licence ne marche plus"],
    "smoke-7": ["merci"],
    "smoke-8": ["remboursement"],
}


class SmokeError(Exception):
    """A step did not hold; the message says which and shows what the container said."""


# -- Commands -------------------------------------------------------------------------------


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def run(
    command: Sequence[str | Path],
    *,
    timeout: float = 600,
    check: bool = True,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: Any = None,
) -> subprocess.CompletedProcess[str]:
    """`command` with its output captured; a failure raises SmokeError with the output's end."""
    args = [str(part) for part in command]
    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False,
            cwd=cwd, env=env or podman_env(), stdin=stdin,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise SmokeError(f"{' '.join(args)}: no answer within {timeout:.0f} s") from exc
    if check and done.returncode != 0:
        output = (done.stdout + done.stderr)[-4000:]
        raise SmokeError(f"{' '.join(args)} exited with {done.returncode}:\n{output}")
    return done


def podman(
    *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], timeout=timeout, check=check)


async def apodman(
    *args: str, limit: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`podman` without stopping the event loop (the fake Graph API must go on answering)."""
    return await asyncio.to_thread(podman, *args, timeout=limit, check=check)


def unavailable() -> str | None:
    """Why the smoke test cannot run on this machine, or None."""
    if sys.platform != "linux":
        return "containers are run with podman on Linux only"
    tools = ("podman", "podman-compose", "iptables")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return (
            f"{' and '.join(missing)} not installed (Debian: apt-get install podman runc "
            "netavark aardvark-dns iptables podman-compose debootstrap)"
        )
    if os.geteuid() != 0:
        return "podman runs here as root (rootful networks, debootstrap), and this user is not"
    info = run(["podman", "info", "--format", "{{.Host.NetworkBackend}}"], check=False)
    if info.returncode != 0 or info.stdout.strip() != "netavark":
        problem = info.stderr.strip()[-300:]
        return f"podman does not start with {CONTAINERS_CONF.name} (netavark missing?): {problem}"
    return None


class Timer:
    """Each step's duration, printed as it ends and kept for the summary."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        print(f"… {name}", flush=True)
        started = time.monotonic()
        yield
        seconds = time.monotonic() - started
        self.steps.append((name, seconds))
        print(f"  {name}: {seconds:.1f} s", flush=True)

    def summary(self) -> str:
        return "\n".join(f"{seconds:7.1f} s  {name}" for name, seconds in self.steps)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- Images ---------------------------------------------------------------------------------


def qualified(name: str) -> str:
    """The name as podman and Docker read it (docker.io/library/python:3.11-slim for
    python:3.11-slim)."""
    first, _, rest = name.partition("/")
    if not rest:
        return f"docker.io/library/{name}"
    if "." in first or ":" in first or first == "localhost":
        return name
    return f"docker.io/{name}"


def dockerfile_base() -> str:
    for line in (ROOT / "Dockerfile").read_text("utf-8").splitlines():
        found = re.match(r"\s*FROM\s+(\S+)", line, re.IGNORECASE)
        if found:
            return qualified(found[1])
    raise SmokeError("the Dockerfile has no FROM line")


def compose_images() -> dict[str, str]:
    """compose.yaml's PostgreSQL and nginx images, by kind."""
    names = re.findall(
        r"^\s+image:\s*(\S+)", (ROOT / "compose.yaml").read_text("utf-8"), re.MULTILINE
    )
    found = {kind: qualified(n) for n in names for kind in STANDINS if n.startswith(kind)}
    if set(found) != set(STANDINS):
        raise SmokeError(f"compose.yaml names no image for {set(STANDINS) - set(found)}")
    return found


def present_or_pulled(name: str) -> bool:
    if podman("image", "exists", name, check=False).returncode == 0:
        return True
    # Where a registry answers, the real image; where none does, a quick refusal.
    return podman("pull", "--quiet", name, timeout=900, check=False).returncode == 0


def ensure_base(name: str) -> str:
    """The Dockerfile's base image: found, pulled, or made from Debian with debootstrap."""
    if present_or_pulled(name):
        return f"{name} (found or pulled)"
    wanted = re.fullmatch(r"docker\.io/library/python:(\d+\.\d+)(?:\.\d+)?-slim", name)
    if not wanted or wanted[1] != DEBIAN_PYTHON:
        raise SmokeError(
            f"{name} can be neither found nor pulled, and Debian {DEBIAN_SUITE} has no stand-in "
            f"for it (its python3 is {DEBIAN_PYTHON})"
        )
    if shutil.which("debootstrap") is None:
        raise SmokeError(f"{name} can be neither found nor pulled, and debootstrap is missing")
    scratch = Path(tempfile.mkdtemp(prefix="bot-rootfs-", dir="/var/tmp"))
    rootfs = scratch / "rootfs"
    try:
        run(
            ["debootstrap", "--variant=minbase",
             "--include=python3,python3-pip,python-is-python3,passwd,ca-certificates",
             DEBIAN_SUITE, rootfs, DEBIAN_MIRROR],
            timeout=1800,
        )  # fmt: skip
        run(["chroot", rootfs, "apt-get", "clean"])
        for stale in (rootfs / "var/lib/apt/lists").glob("*"):
            if stale.is_file():
                stale.unlink()
        # pip may install into the system's Python, as in the official image.
        (rootfs / f"usr/lib/python{DEBIAN_PYTHON}/EXTERNALLY-MANAGED").unlink(missing_ok=True)
        # This machine's CA bundle: pip reaches PyPI through whatever this machine trusts.
        shutil.copyfile(
            "/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt"
        )
        with subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", "-", "."], stdout=subprocess.PIPE
        ) as tar:
            run(
                ["podman", "import",
                 "--change", f"ENV PATH={PATH}",
                 "--change", "ENV LANG=C.UTF-8",
                 "--change", 'CMD ["python3"]',
                 "--change", "LABEL org.opencontainers.image.description="
                 f"Debian {DEBIAN_SUITE} minbase with python3, made by deploy/podman_smoke.py",
                 "-", name],
                stdin=tar.stdout, timeout=900,
            )  # fmt: skip
        if tar.returncode != 0:
            raise SmokeError(f"tar of {rootfs} failed")
    finally:
        _unmount_under(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    return f"{name} (made with debootstrap)"


def _unmount_under(path: Path) -> None:
    """Unmount what debootstrap may have left mounted in `path` before it is deleted."""
    mounts = Path("/proc/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if line.split()[1].startswith(f"{path}/")]
    for point in sorted(points, key=len, reverse=True):
        run(["umount", "-l", point], check=False)


def ensure_service_image(kind: str, name: str, base: str) -> str:
    """compose.yaml's image of `kind`, or a stand-in from Debian's package; the one to run.

    A stand-in's tag is a digest of its files and base: it is built again when they change.
    """
    if present_or_pulled(name):
        return name
    digest = hashlib.sha256(podman("image", "inspect", "--format", "{{.Id}}", base).stdout.encode())
    for source in sorted(PODMAN_DIR.glob(f"{kind}*")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    repository = f"localhost/parallels-smoke-{kind}"
    standin = f"{repository}:{digest.hexdigest()[:12]}"
    if podman("image", "exists", standin, check=False).returncode != 0:
        podman(
            "build", "--network", "host", "--build-arg", f"BASE={base}",
            "-f", str(PODMAN_DIR / f"{kind}.Containerfile"), "-t", standin, str(PODMAN_DIR),
            timeout=1800,
        )  # fmt: skip
        listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout
        stale = [tag for tag in listed.split() if tag != standin]
        if stale:
            podman("rmi", *stale, check=False)
    return standin


def build_image() -> None:
    previous = podman("image", "inspect", "--format", "{{.Id}}", IMAGE, check=False).stdout.strip()
    # The docker format keeps the HEALTHCHECK; the host's network reaches PyPI.
    podman("build", "--network", "host", "--format", "docker", "-t", IMAGE, str(ROOT), timeout=1800)
    if (
        previous
        and podman("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip() != previous
    ):
        podman("rmi", previous, check=False)  # the last build's image, now without a name


# -- HTTP checks ----------------------------------------------------------------------------

Logs = Callable[[], Awaitable[str]]


async def wait_ready(url: str, logs: Logs, within: float = 90.0) -> None:
    import aiohttp

    deadline = time.monotonic() + within
    status = "no answer"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
                    status = f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = str(exc) or type(exc).__name__
            await asyncio.sleep(0.25)
    raise SmokeError(f"{url} not ready within {within:.0f} s ({status}):\n{await logs()}")


async def check_public_pages(base: str) -> None:
    """Through the proxy: /healthz answers, the /chat trial page and /metrics are not public."""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            if response.status != 200:
                raise SmokeError(f"/healthz through nginx: HTTP {response.status}")
        for closed in ("/chat", "/metrics"):
            async with session.get(f"{base}{closed}") as response:
                if response.status != 404:
                    raise SmokeError(f"{closed} through nginx: HTTP {response.status}, not 404")


async def check_pages(base: str) -> None:
    """/healthz, the /chat page and one /chat exchange, answered as the engine answers."""
    import aiohttp

    from bot.engine import Engine
    from bot.local import LocalConversations

    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            if response.status != 200:
                raise SmokeError(f"/healthz: HTTP {response.status}")
        async with session.get(f"{base}/chat") as response:
            if response.status != 200 or response.content_type != "text/html":
                raise SmokeError(f"/chat: HTTP {response.status} {response.content_type}")
        body = {"conversation": "smoke", "text": "mdp oublié"}
        async with session.post(f"{base}/chat/messages", json=body) as response:
            if response.status != 200:
                raise SmokeError(f"/chat/messages: HTTP {response.status} {await response.text()}")
            got = [reply["text"] for reply in (await response.json())["replies"]]
    expected = [
        r.text for r in LocalConversations(Engine.default()).send("smoke", body["text"]).replies
    ]
    if got != expected:
        raise SmokeError(f"/chat answered {got}, the engine {expected}")


def expected_replies(customers: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the engine answers each customer, reading their messages in order."""
    from bot.engine import Engine
    from bot.local import LocalConversations

    local = LocalConversations(Engine.default())
    return {
        psid: [reply.text for text in words for reply in local.send(psid, text).replies]
        for psid, words in customers.items()
    }


async def send_webhooks(
    base: str, customers: dict[str, list[str]], logs: Logs, *, resend_for: float = 0.0
) -> int:
    """Each customer's messages in order, as signed Messenger webhooks; each must get 200.

    With `resend_for`, a webhook the proxy could not hand to a replica (502, 504) is sent
    again for that many seconds, as Facebook does; returns how many were sent again.
    """
    import aiohttp

    from tests.fakes import messenger as fb

    resent = 0
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for number in range(max(map(len, customers.values()))):
            for psid, words in customers.items():
                if number >= len(words):
                    continue
                body = fb.encode(fb.webhook(fb.text(psid, words[number])))
                deadline = time.monotonic() + resend_for
                while True:
                    url = f"{base}/webhooks/messenger"
                    async with session.post(url, data=body, headers=fb.sign(body)) as response:
                        if response.status == 200:
                            break
                        if response.status not in (502, 504) or time.monotonic() > deadline:
                            raise SmokeError(
                                f"webhook: HTTP {response.status} {await response.text()}\n"
                                f"{await logs()}"
                            )
                    resent += 1
                    await asyncio.sleep(1.0)
    return resent


async def wait_answered(
    texts: Callable[[], Awaitable[dict[str, list[str]]]], expected: dict[str, list[str]], logs: Logs
) -> None:
    """Every customer got exactly the expected replies, in order, none twice (after a settle)."""
    deadline = time.monotonic() + 60
    got: dict[str, list[str]] = {}
    while time.monotonic() < deadline:
        got = await texts()
        if all(len(got.get(psid, [])) >= len(replies) for psid, replies in expected.items()):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(2.0)  # a duplicate would come now
    got = await texts()
    if {psid: got.get(psid, []) for psid in expected} != expected:
        raise SmokeError(
            f"replies at the fake Graph API:\n{json.dumps(got, ensure_ascii=False, indent=1)}\n"
            f"expected:\n{json.dumps(expected, ensure_ascii=False, indent=1)}\n{await logs()}"
        )


async def stop_within_drain(names: Sequence[str], grace: int) -> str:
    """SIGTERM (`podman stop`, SIGKILL after `grace` s) to each container at once: each must
    exit with status 0 within the drain time and a margin, without a traceback."""

    async def stop(name: str) -> float:
        started = time.monotonic()
        await apodman("stop", "--time", str(grace), name, limit=grace + 30)
        return time.monotonic() - started

    took = await asyncio.gather(*(stop(name) for name in names))
    report = []
    for name, seconds in zip(names, took, strict=True):
        status = (await apodman("inspect", "--format", "{{.State.ExitCode}}", name)).stdout.strip()
        logs = await container_logs(name)
        if status != "0" or seconds > DRAIN + MARGIN or "Traceback" in logs:
            raise SmokeError(
                f"{name} stopped in {seconds:.1f} s with status {status} "
                f"(drain {DRAIN:.0f} s + {MARGIN:.0f} s allowed):\n{logs}"
            )
        report.append(f"{name} {seconds:.1f} s")
    return ", ".join(report)


async def container_logs(name: str) -> str:
    done = await apodman("logs", "--tail", "60", name, check=False)
    return f"--- logs of {name} ---\n{(done.stdout + done.stderr)[-6000:]}"


# -- 1. The image alone ---------------------------------------------------------------------


async def single(timer: Timer) -> None:
    from aiohttp import web

    from tests.fakes import messenger as fb
    from tests.fakes.graph import TOKEN, FakeGraph

    # The held request's connection dies with the container: not worth a traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    graph, graph_port, port = FakeGraph(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    graph.echo_to = f"{base}/webhooks/messenger"  # Facebook's echoes confirm each delivery
    runner = web.AppRunner(graph.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", graph_port).start()
    name = f"bot-smoke-{os.getpid()}"
    env = {
        "BOT_HOST": "127.0.0.1",
        "BOT_PORT": str(port),
        "BOT_DRAIN_SECONDS": str(DRAIN),
        "BOT_CHAT_ENABLED": "true",
        **FAST_RESEND,
        "MESSENGER_APP_SECRET": fb.APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": fb.VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_API_URL": f"http://127.0.0.1:{graph_port}",
    }

    async def logs() -> str:
        return await container_logs(name)

    async def texts() -> dict[str, list[str]]:
        return {m["recipient"]["id"]: graph.texts(m["recipient"]["id"]) for m in graph.messages}

    try:
        with timer.step("image alone: start until /readyz"):
            await apodman(
                "run", "--detach", "--name", name, "--network", "host",
                # No systemd here to time the HEALTHCHECK: it is run once by hand below.
                "--health-interval", "disable",
                *[arg for key, value in env.items() for arg in ("--env", f"{key}={value}")],
                IMAGE,
            )  # fmt: skip
            await wait_ready(f"{base}/readyz", logs)
        with timer.step("image alone: /healthz, /chat, HEALTHCHECK, webhooks answered"):
            await check_pages(base)
            health = await apodman("healthcheck", "run", name, check=False)
            if health.returncode != 0:
                raise SmokeError(f"HEALTHCHECK: {health.stdout}{health.stderr}\n{await logs()}")
            await send_webhooks(base, CUSTOMERS, logs)
            await wait_answered(texts, expected_replies(CUSTOMERS), logs)
            if graph.echoes_delivered < len(graph.messages):
                raise SmokeError(f"{graph.echoes_delivered} echoes taken\n{await logs()}")
        with timer.step("image alone: SIGTERM with a reply held at the Graph API"):
            graph.hold = asyncio.Event()
            sent = graph.requests
            await send_webhooks(base, DRAINED, logs)
            await graph.wait_until(lambda: graph.requests > sent, within=20)
            stopped = await stop_within_drain([name], grace=int(DRAIN) + 20)
            print(f"  stopped: {stopped}", flush=True)
            graph.hold.set()
            graph.hold = None
        with timer.step("image alone: started again, the reply cut by SIGTERM sent once"):
            await apodman("start", name)
            await wait_ready(f"{base}/readyz", logs)
            await wait_answered(texts, expected_replies(CUSTOMERS | DRAINED), logs)
    finally:
        if graph.hold is not None:
            graph.hold.set()
        await apodman("rm", "--force", "--time", "0", name, check=False)
        await runner.cleanup()


# -- 2. compose.yaml ------------------------------------------------------------------------


def fake_graph_main(port: int, echo_to: str | None) -> None:
    """The fake Graph API as a compose service (`fake-graph`), with what the check needs:
    GET /_smoke/state (messages accepted, requests seen), POST /_smoke/hold and /_smoke/release."""
    from aiohttp import web

    from tests.fakes.graph import FakeGraph

    # A held request's connection dies with its replica: not worth a traceback in the logs.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    graph = FakeGraph()
    graph.echo_to = echo_to

    async def state(_request: web.Request) -> web.Response:
        return web.json_response({"messages": graph.messages, "requests": graph.requests})

    async def hold(_request: web.Request) -> web.Response:
        graph.hold = asyncio.Event()
        return web.json_response({})

    async def release(_request: web.Request) -> web.Response:
        if graph.hold is not None:
            graph.hold.set()
        graph.hold = None
        return web.json_response({})

    app = graph.app()
    app.router.add_get("/_smoke/state", state)
    app.router.add_post("/_smoke/hold", hold)
    app.router.add_post("/_smoke/release", release)
    # All addresses of its own container, on the compose network: the bot replicas call it.
    web.run_app(app, host="0.0.0.0", port=port, print=None)


def compose_files(scratch: Path, images: dict[str, str], graph_port: int) -> None:
    """compose.yaml and deploy/nginx.conf as they are, a .env, and an override that names the
    images to run and adds the fake Graph API (JSON, which is YAML too)."""
    shutil.copyfile(ROOT / "compose.yaml", scratch / "compose.yaml")
    (scratch / "deploy").mkdir()
    shutil.copyfile(ROOT / "deploy" / "nginx.conf", scratch / "deploy" / "nginx.conf")
    from tests.fakes import messenger as fb
    from tests.fakes.graph import TOKEN

    env = {
        "MESSENGER_APP_SECRET": fb.APP_SECRET,
        "MESSENGER_VERIFY_TOKEN": fb.VERIFY_TOKEN,
        "MESSENGER_PAGE_ACCESS_TOKEN": TOKEN,
        "MESSENGER_API_URL": f"http://graph:{GRAPH_PORT}",
        "BOT_DRAIN_SECONDS": str(DRAIN),
        "BOT_CHAT_ENABLED": "true",
        "BOT_LOG_FORMAT": "json",
        **FAST_RESEND,
    }
    (scratch / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    command = ["python", "-m", "deploy.podman_smoke", "fake-graph", "--port", str(GRAPH_PORT),
               "--echo-to", "http://proxy/webhooks/messenger"]  # fmt: skip
    override = {
        "services": {
            "bot": {"image": IMAGE},
            "db": {"image": images["postgres"]},
            "proxy": {"image": images["nginx"]},
            "graph": {
                "image": IMAGE,
                "command": command,
                "volumes": [f"{ROOT / 'tests'}:/app/tests:ro", f"{ROOT / 'deploy'}:/app/deploy:ro"],
                "ports": [f"127.0.0.1:{graph_port}:{GRAPH_PORT}"],
            },
        }
    }
    (scratch / "compose.smoke.yaml").write_text(json.dumps(override, indent=2))


def compose_cleanup() -> None:
    """Whatever the project left: containers, its network, its volume."""
    label = f"label=io.podman.compose.project={PROJECT}"
    left = podman("ps", "--all", "--quiet", "--filter", label, check=False).stdout.split()
    if left:
        podman("rm", "--force", "--time", "0", *left, check=False)
    podman("network", "rm", "--force", f"{PROJECT}_default", check=False)
    podman("volume", "rm", "--force", f"{PROJECT}_pgdata", check=False)


async def compose(timer: Timer, images: dict[str, str]) -> None:
    import aiohttp

    scratch = Path(tempfile.mkdtemp(prefix="bot-compose-"))
    port, graph_port = free_port(), free_port()
    compose_files(scratch, images, graph_port)
    env = {
        **podman_env(),
        "BOT_PUBLISH": f"127.0.0.1:{port}",
        "POSTGRES_PASSWORD": secrets.token_hex(16),
    }
    command = ["podman-compose", "--project-name", PROJECT]
    command += ["-f", "compose.yaml", "-f", "compose.smoke.yaml"]
    bots = [f"{PROJECT}_bot_1", f"{PROJECT}_bot_2"]
    base, graph = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{graph_port}"

    async def compose_run(*args: str) -> None:
        await asyncio.to_thread(run, [*command, *args], cwd=scratch, env=env, timeout=600)

    async def logs() -> str:
        names = [f"{PROJECT}_db_1", *bots, f"{PROJECT}_proxy_1", f"{PROJECT}_graph_1"]
        return "\n".join([await container_logs(name) for name in names])

    async def fake(method: str, path: str) -> Any:
        async with aiohttp.ClientSession() as session, session.request(method, graph + path) as r:
            r.raise_for_status()
            return await r.json()

    async def texts() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for sent in (await fake("GET", "/_smoke/state"))["messages"]:
            message = sent["message"]
            text = (
                message["text"] if "text" in message else message["attachment"]["payload"]["text"]
            )
            found.setdefault(sent["recipient"]["id"], []).append(text)
        return found

    async def both_replicas_at_work() -> None:
        for name in bots:  # nginx spread the webhooks: both replicas took some
            if await webhooks_taken(name) == 0:
                raise SmokeError(f"{name} took no webhook\n{await logs()}")

    await asyncio.to_thread(compose_cleanup)
    try:
        with timer.step("compose: PostgreSQL up and healthy"):
            # podman-compose does not wait for `condition: service_healthy`: done here.
            await compose_run("up", "--detach", "db")
            await wait_healthy(f"{PROJECT}_db_1", logs)
        with timer.step("compose: two replicas, nginx, fake Graph API up; /readyz through nginx"):
            await compose_run("up", "--detach")
            await wait_ready(f"{base}/readyz", logs)
            await wait_ready(f"{graph}/_smoke/state", logs)
            for name in bots:
                await wait_healthy(name, logs)
        with timer.step("compose: /healthz public, /chat and /metrics not, webhooks answered once"):
            await check_public_pages(base)
            await send_webhooks(base, CUSTOMERS, logs)
            await wait_answered(texts, expected_replies(CUSTOMERS), logs)
            await both_replicas_at_work()
            tables = await apodman(
                "exec", f"{PROJECT}_db_1", "psql", "-U", "bot", "-d", "bot", "-tAc",
                "SELECT count(*) FROM pg_stat_user_tables",
            )  # fmt: skip
            if int(tables.stdout.strip() or 0) == 0:
                raise SmokeError(
                    f"no table in PostgreSQL: the replicas did not use it\n{await logs()}"
                )
        with timer.step("compose: SIGTERM to both replicas with a reply held"):
            await fake("POST", "/_smoke/hold")
            sent = (await fake("GET", "/_smoke/state"))["requests"]
            await send_webhooks(base, DRAINED, logs)
            deadline = time.monotonic() + 20
            while (await fake("GET", "/_smoke/state"))["requests"] == sent:
                if time.monotonic() > deadline:
                    raise SmokeError(f"no reply reached the fake Graph API\n{await logs()}")
                await asyncio.sleep(0.1)
            before = {name: await address(name) for name in bots}
            print(f"  stopped: {await stop_within_drain(bots, grace=STOP_GRACE)}", flush=True)
            await fake("POST", "/_smoke/release")
        with timer.step("compose: replicas started again at new addresses, found by nginx"):
            for name in bots:
                await apodman("start", name)
            for name in bots:
                await wait_healthy(name, logs)
            after = {name: await address(name) for name in bots}
            print(f"  addresses: {before} then {after}", flush=True)
            await wait_ready(f"{base}/readyz", logs, within=30)
            # Each nginx worker may still hold the old addresses for the resolver's 5 s.
            resent = await send_webhooks(base, AFTER, logs, resend_for=30)
            print(f"  webhooks sent again after a 502 or 504: {resent}", flush=True)
            await wait_answered(texts, expected_replies(CUSTOMERS | DRAINED | AFTER), logs)
            await both_replicas_at_work()
    finally:
        with timer.step("compose: containers, network and volume removed"):
            await asyncio.to_thread(compose_cleanup)
            shutil.rmtree(scratch, ignore_errors=True)


async def address(name: str) -> str:
    found = await apodman(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name
    )
    return found.stdout.strip()


async def wait_healthy(name: str, logs: Logs, within: float = 90.0) -> None:
    """The container's health check passes (podman here has no systemd to time it)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await apodman("healthcheck", "run", name, check=False)).returncode == 0:
            return
        await asyncio.sleep(0.5)
    raise SmokeError(f"{name} not healthy within {within:.0f} s\n{await logs()}")


async def webhooks_taken(name: str) -> float:
    """The sum of bot_webhooks_total in the replica's /metrics, read from inside it."""
    probe = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/metrics').read().decode())"
    metrics = (await apodman("exec", name, "python", "-c", probe)).stdout
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("bot_webhooks_total")
    )


# -- Main -----------------------------------------------------------------------------------


async def smoke(parts: Sequence[str]) -> Timer:
    timer = Timer()
    base = dockerfile_base()
    with timer.step("base image"):
        print(f"  {await asyncio.to_thread(ensure_base, base)}", flush=True)
    with timer.step("project image build"):
        await asyncio.to_thread(build_image)
    if "single" in parts:
        await single(timer)
    if "compose" in parts:
        with timer.step("PostgreSQL and nginx images"):
            images = {
                kind: await asyncio.to_thread(ensure_service_image, kind, name, base)
                for kind, name in compose_images().items()
            }
            print(f"  {images}", flush=True)
        await compose(timer, images)
    return timer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.podman_smoke",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command")
    fake = commands.add_parser("fake-graph", help="serve the fake Graph API (inside a container)")
    fake.add_argument("--port", type=int, default=GRAPH_PORT)
    fake.add_argument("--echo-to")
    parser.add_argument("--part", choices=("single", "compose", "all"), default="all")
    args = parser.parse_args(argv)
    if args.command == "fake-graph":
        fake_graph_main(args.port, args.echo_to)
        return 0
    reason = unavailable()
    if reason:
        print(f"podman smoke test not run: {reason}", file=sys.stderr)
        return 2
    parts = ("single", "compose") if args.part == "all" else (args.part,)
    started = time.monotonic()
    try:
        timer = asyncio.run(smoke(parts))
    except SmokeError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"\nAll held in {time.monotonic() - started:.0f} s:\n{timer.summary()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
