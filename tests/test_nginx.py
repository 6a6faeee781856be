"""The shipped reverse proxy configuration (deploy/nginx.conf), run by the machine's nginx
in front of a real `serve`: what it lets the internet reach.

Skipped, with the reason, where nginx is not installed (apt-get install nginx-light),
unless BOT_REQUIRE_NGINX=1.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from yarl import URL

from tests.serving import start_serve, stop

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def configured(tmp_path: Path, bot_port: int, proxy_port: int) -> list[str]:
    """The nginx command line for deploy/nginx.conf on `proxy_port`, in front of the bot on
    `bot_port`, its files under `tmp_path`; checked with `nginx -t`."""
    if not Path(NGINX).exists():
        if os.environ.get("BOT_REQUIRE_NGINX") == "1":
            pytest.fail("BOT_REQUIRE_NGINX=1 but nginx is not installed", pytrace=False)
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    # The template of the nginx image: the replicas by name through the container's DNS.
    assert "set $bot http://bot:8080;" in site and "listen 80;" in site
    assert "${NGINX_LOCAL_RESOLVERS}" in site
    site = site.replace("set $bot http://bot:8080;", f"set $bot http://127.0.0.1:{bot_port};")
    site = site.replace("${NGINX_LOCAL_RESOLVERS}", "127.0.0.1")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{proxy_port};")
    (tmp_path / "site.conf").write_text(site)
    user = "user root;" if os.geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"""{user}
daemon off;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
"""
    )
    command = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    return command


@pytest.fixture
async def proxy(tmp_path: Path) -> AsyncIterator[str]:
    """deploy/nginx.conf on 127.0.0.1, its upstream a `serve` with /chat left on."""
    bot_port, proxy_port = unused_port(), unused_port()
    command = configured(tmp_path, bot_port, proxy_port)
    env = {"BOT_DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3", "BOT_TRUST_PROXY": "true"}
    bot = await start_serve(env, bot_port, tmp_path)
    nginx = await asyncio.create_subprocess_exec(*command, stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{proxy_port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.05)
        yield base
    finally:
        nginx.terminate()
        await nginx.wait()
        await stop(bot)


async def status(session: aiohttp.ClientSession, method: str, url: str) -> int:
    async with session.request(
        method, url, json={"conversation": "c1", "text": "bonjour"}, allow_redirects=False
    ) as response:
        return response.status


async def test_the_public_proxy_keeps_metrics_and_chat_to_itself(proxy: str) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/metrics", "//metrics", "/metrics?x=1", "/chat", "/chat/messages"):
            for method in ("GET", "POST"):
                url = URL(f"{proxy}{path}", encoded=True)
                assert await status(session, method, str(url)) == 404, (method, path)
        encoded = URL(f"{proxy}/%6Detrics", encoded=True)
        async with session.get(encoded) as response:
            assert response.status == 404
        # What the proxy is for still goes through.
        assert await status(session, "GET", f"{proxy}/healthz") == 200
        assert await status(session, "GET", f"{proxy}/desk") == 200
        assert await status(session, "GET", f"{proxy}/webhooks/nowhere") == 404  # the bot's JSON
