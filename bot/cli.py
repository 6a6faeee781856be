"""Command line: `python -m bot serve | chat | classify | check | db upgrade | forget |
agent add|list|remove | review export | messenger setup | twitter register|status`.

User mistakes end in one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from bot import logs
from bot.config import Settings
from bot.engine import Engine
from bot.http import ENGINE
from bot.local import LocalConversations
from bot.models import Reply
from bot.store import Conflict, NotFound, Store, StoreError, open_store
from intents.catalogue import CatalogueError, load_catalogue
from intents.reader import Reader
from responses.renderer import Renderer

# Allocations between two collections of the young generation while serving (see _serve).
GC_YOUNG_THRESHOLD = 10_000


class UsageError(Exception):
    """A mistake of the person at the keyboard: shown as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, CatalogueError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        name = first["loc"][0] if first["loc"] else "settings"
        print(f"error: invalid setting {name}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`classify … | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="French support bot for Parallels account problems."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP service (webhooks, /chat, desk)")
    serve.add_argument("--host", help="listen address (default: BOT_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default: BOT_PORT or 8080)")
    serve.set_defaults(run=_serve)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal (no network)")
    chat.set_defaults(run=_chat)

    classify = commands.add_parser(
        "classify", help="print one JSON line per message: text, intent, score, candidates"
    )
    classify.add_argument("messages", nargs="*", help="messages (default: one per line on stdin)")
    classify.set_defaults(run=_classify)

    check = commands.add_parser("check", help="validate the catalogue and the answer templates")
    check.add_argument("--catalogue", type=Path, help="a catalogue file to check instead")
    check.set_defaults(run=_check)

    db = commands.add_parser("db", help="the database")
    db_actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    db_actions.add_parser(
        "upgrade", help="apply pending schema migrations (serve also does it at start)"
    ).set_defaults(run=_db_upgrade)

    forget = commands.add_parser(
        "forget", help="delete everything stored about one customer (data protection)"
    )
    forget.add_argument("channel", choices=["messenger", "twitter"])
    forget.add_argument("user_id", help="the customer's id on that channel (PSID, X user id)")
    forget.set_defaults(run=_forget)

    agent = commands.add_parser("agent", help="manage the agents of the desk")
    agent_actions = agent.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = agent_actions.add_parser("add", help="create an agent and print its token once")
    add.add_argument("name", help="the agent's name, as customers' transcripts will show it")
    add.add_argument(
        "--admin", action="store_true", help="an admin: manages agents and ready-made replies"
    )
    add.set_defaults(run=_agent_add)
    agent_actions.add_parser("list", help="list the agents").set_defaults(run=_agent_list)
    remove = agent_actions.add_parser("remove", help="remove an agent; its token stops working")
    remove.add_argument("name")
    remove.set_defaults(run=_agent_remove)

    review = commands.add_parser("review", help="what agents labelled in the desk's review")
    review_actions = review.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = review_actions.add_parser(
        "export",
        help="write the labelled messages as catalogue phrasings (phrasings.toml) and sealed "
        "evaluation cases (sealed.tsv), never both for one message, for a human to commit",
    )
    export.add_argument(
        "--out", type=Path, default=Path("review-export"), help="folder (default: review-export)"
    )
    export.set_defaults(run=_review_export)

    messenger = commands.add_parser("messenger", help="configure the Facebook page on Messenger")
    actions = messenger.add_subparsers(dest="action", required=True, metavar="ACTION")
    setup = actions.add_parser(
        "setup",
        help="set the page's Messenger profile: Get Started button, greeting, persistent menu "
        "and ice breakers (needs MESSENGER_PAGE_ACCESS_TOKEN)",
    )
    setup.add_argument(
        "--dry-run", action="store_true", help="print the JSON body instead of sending it"
    )
    setup.set_defaults(run=_messenger_setup)

    twitter = commands.add_parser("twitter", help="connect the X account (Account Activity API)")
    x_actions = twitter.add_subparsers(dest="action", required=True, metavar="ACTION")
    register = x_actions.add_parser(
        "register",
        help="register URL as the webhook and subscribe the support account (needs the "
        "TWITTER_* keys and TWITTER_ENV_NAME; the server must already answer at URL)",
    )
    register.add_argument("url", help="the public address, https://…/webhooks/twitter")
    register.set_defaults(run=_twitter_register)
    x_actions.add_parser("status", help="show the registered webhooks").set_defaults(
        run=_twitter_status
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from bot import server
    from bot.app import create_app

    settings = Settings()
    host = args.host or settings.bot_host
    port = settings.bot_port if args.port is None else args.port
    logs.configure(settings.bot_log_format)
    switches = (("messenger", settings.messenger_enabled), ("twitter", settings.twitter_enabled))
    channels = [name for name, on in switches if on]
    page = "chat" if settings.bot_chat_enabled else "healthz"
    print(
        f"Parallels support bot on http://{host}:{port}/{page} "
        f"(channels: {', '.join(channels) or 'none, local chat only'})",
        file=sys.stderr,
        flush=True,
    )
    try:
        # No access log: one line per webhook is noise at thousands a second; each event
        # gets its own structured line and /metrics counts requests by status.
        app = create_app(settings)
        # The language models load now, not on the first message that needs them, which
        # would hold the event loop (and every webhook's acknowledgement) meanwhile.
        app[ENGINE].reader.languages.warm()
        # The engine (catalogue, lexicon, matcher) lives as long as the process: out of the
        # collector's sight, its full passes no longer pause the loop.
        gc.collect()
        gc.freeze()
        # Each webhook allocates a few dozen objects that die with it, and the young
        # generation also holds those of every request in flight: collected at the
        # default threshold, they are traversed again and again under a burst. A higher
        # threshold spares that; the rare garbage cycles wait a little longer to be freed.
        gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
        server.run(app, settings, host, port)
    except StoreError as exc:
        raise UsageError(_store_error(exc, settings)) from None
    except OSError as exc:  # the database's folder, the port: one line, not a traceback
        raise UsageError(_os_error(exc, settings)) from None
    return 0


def _os_error(exc: OSError, settings: Settings) -> str:
    """An operating system's refusal, said in one line, naming the database when it is
    what could not be opened or created."""
    path = settings.sqlite_path
    what = exc.strerror or str(exc)
    name = str(exc.filename or "")
    if path is not None and name.startswith(str(path)):  # the file, its -wal, its .lock
        return f"cannot open the SQLite database {path}: {what} ({name})"
    if path is not None and name and path.is_relative_to(name):  # a folder on its way
        return f"cannot create the folder {name} of the SQLite database {path}: {what}"
    return str(exc)


def _store_error(exc: StoreError, settings: Settings) -> str:
    """The store's error, with the SQLite file it is about (never a PostgreSQL URL, which
    may hold a password)."""
    path = settings.sqlite_path
    if path is not None and str(path) not in str(exc):
        return f"{exc} (database {path})"
    return str(exc)


def _typed(text: str) -> str:
    """Text from the command line or stdin, bytes that were not UTF-8 (a terminal in
    Latin-1) as U+FFFD: Python hands them over as lone surrogates, which no output takes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _classify(args: argparse.Namespace) -> int:
    reader = Reader(load_catalogue())
    lines: Iterable[str] = args.messages or sys.stdin
    for line in lines:
        text = _typed(line.rstrip("\n"))
        if not text.strip():
            continue
        reading = reader.read(text)
        match = reading.match
        record: dict[str, object] = {
            "text": text,
            "intent": reading.intent,
            "score": match.score,
            "decision": reading.decision,
            "candidates": [{"intent": c.intent, "score": c.score} for c in match.candidates[:3]],
        }
        if len(reading.problems) > 1:
            record["problems"] = list(reading.problems)
        if reading.signals.safety is not None:
            record["safety"] = reading.signals.safety
        if reading.signals.topic:
            record["other_topic"] = True
        if reading.language is not None:
            record["language"] = reading.language
        if match.days is not None:
            record["days"] = match.days
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def _chat(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    conversations = LocalConversations(Engine.default())
    interactive = stdin.isatty()
    print(
        "Assistant Parallels (essai local). Écrivez votre message ; un numéro choisit une réponse "
        "proposée. /reset recommence, /quit quitte.",
        file=out,
    )
    conversation = "terminal"
    while True:
        if interactive:
            print("vous> ", end="", file=out, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        text = _typed(line.strip())
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text == "/reset":
            conversations.reset(conversation)
            print("(nouvelle conversation)", file=out)
            continue
        if not interactive:
            print(f"vous> {text}", file=out)
        outcome = conversations.send(conversation, text)
        for reply in outcome.replies:
            _print_reply(reply, out)
        if outcome.decision.action == "silent":
            print(
                "(un conseiller a la main : l'assistant se tait ; /reset pour recommencer)",
                file=out,
            )
        out.flush()


def _print_reply(reply: Reply, out: TextIO) -> None:
    for line in reply.text.splitlines():
        print(f"bot> {line}", file=out)
    for number, choice in enumerate(reply.quick_replies, start=1):
        print(f"     {number}. {choice.title}", file=out)
    for button in reply.buttons:
        print(f"     [{button.title}] {button.url}", file=out)


def _check(args: argparse.Namespace) -> int:
    from bot.check import check

    catalogue = load_catalogue(args.catalogue)
    problems, summary = check(catalogue, Renderer())
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(summary)
    return 0


def _with_store(work: Callable[[Store], Awaitable[int]]) -> int:
    """Run `work` on the configured store, opened beside a running server if there is one."""
    import asyncio

    async def run() -> int:
        store = open_store(Settings().bot_database_url, exclusive=False)
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (NotFound, Conflict) as exc:
        raise UsageError(str(exc)) from None
    except StoreError as exc:
        raise UsageError(_store_error(exc, Settings())) from None
    except OSError as exc:
        raise UsageError(_os_error(exc, Settings())) from None


def _forget(args: argparse.Namespace) -> int:
    from bot.privacy import new_code

    code = new_code()

    async def work(store: Store) -> int:
        deleted = await store.forget(args.channel, [args.user_id], code)
        print(
            f"{deleted} conversation(s) of {args.channel} user {args.user_id} deleted "
            f"(confirmation code {code}; status page /data-deletion/{code})"
        )
        return 0

    return _with_store(work)


def _db_upgrade(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        version = await store.schema_version()
        print(f"database schema at version {version}")
        return 0

    return _with_store(work)


AGENT_NAME = re.compile(r"^[\w .'-]{1,60}$")


def _agent_add(args: argparse.Namespace) -> int:
    from bot.desk.auth import hash_token, new_token

    name = " ".join(args.name.split())
    if not AGENT_NAME.match(name):
        raise UsageError("an agent name is 1 to 60 letters, digits, spaces, . ' or -")
    token = new_token()


    async def work(store: Store) -> int:
        await store.add_agent(name, hash_token(token), "admin" if args.admin else "agent")
        return 0

    status = _with_store(work)
    kind = "Admin" if args.admin else "Agent"
    print(f"{kind} {name} added. Their token, shown only this once:", file=sys.stderr)
    print(token)
    return status


def _agent_list(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        for agent in await store.agents():
            added = datetime.fromtimestamp(agent.created_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            print(f"{agent.name}\t{agent.role}\tadded {added}")
        return 0

    return _with_store(work)


def _agent_remove(args: argparse.Namespace) -> int:
    async def work(store: Store) -> int:
        await store.remove_agent(args.name)
        print(f"Agent {args.name} removed; their token no longer works.")
        return 0

    return _with_store(work)


def _review_export(args: argparse.Namespace) -> int:
    from bot.review import export, phrasings_toml, sealed_tsv

    async def work(store: Store) -> int:
        done = export(await store.labels(), load_catalogue())
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "phrasings.toml").write_text(phrasings_toml(done.phrasings), "utf-8")
            (args.out / "sealed.tsv").write_text(sealed_tsv(done.sealed), "utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write into {args.out}: {exc.strerror or exc}") from None
        count = sum(len(texts) for texts in done.phrasings.values())
        print(
            f"{count} phrasing(s) in {args.out / 'phrasings.toml'}, {len(done.sealed)} sealed "
            f"case(s) in {args.out / 'sealed.tsv'}, {done.skipped} left out (known or repeated)"
        )
        return 0

    return _with_store(work)


def _messenger_setup(args: argparse.Namespace) -> int:
    import asyncio

    from adapters.messenger_profile import ProfileError, profile_body, summary

    settings = Settings()
    try:
        body = profile_body(load_catalogue())
    except ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.dry_run:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    token = settings.messenger_page_access_token
    if token is None or not token.get_secret_value():
        raise UsageError(
            "MESSENGER_PAGE_ACCESS_TOKEN is not set: set it (environment or .env) to the "
            "Facebook page's access token"
        )
    if not settings.messenger_api_url:
        raise UsageError("MESSENGER_API_URL is empty: set it to the Graph API base URL")
    try:
        asyncio.run(_post_profile(settings, token.get_secret_value(), body))
    except ProfileError as exc:
        print(f"error: Messenger profile not set: {exc}", file=sys.stderr)
        return 1
    print(summary(body))
    return 0


async def _post_profile(settings: Settings, token: str, body: dict[str, Any]) -> None:
    import aiohttp

    from adapters.messenger_profile import set_profile

    async with aiohttp.ClientSession() as session:
        await set_profile(
            session,
            api_url=settings.messenger_api_url,
            page_token=token,
            body=body,
            request_timeout=settings.bot_send_timeout,
        )


def _twitter(work: Callable[[Any, str], Awaitable[int]]) -> int:
    """Run `work(adapter, env_name)` with an X adapter on a fresh HTTP session."""
    import asyncio

    import aiohttp

    from adapters.twitter import TwitterAdapter
    from adapters.twitter_setup import SetupError, check_env

    settings = Settings()
    keys = (
        settings.twitter_consumer_key,
        settings.twitter_consumer_secret,
        settings.twitter_access_token,
        settings.twitter_access_token_secret,
    )
    if any(key is None or not key.get_secret_value() for key in keys):
        raise UsageError(
            "TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN and "
            "TWITTER_ACCESS_TOKEN_SECRET must all be set (environment or .env)"
        )
    try:
        env_name = check_env(settings.twitter_env_name)
    except SetupError as exc:
        raise UsageError(str(exc)) from None
    values = [key.get_secret_value() for key in keys if key is not None]

    async def run() -> int:
        async with aiohttp.ClientSession() as session:
            adapter = TwitterAdapter(
                consumer_key=values[0],
                consumer_secret=values[1],
                access_token=values[2],
                access_token_secret=values[3],
                api_url=settings.twitter_api_url,
                user_id=settings.twitter_user_id,
                app_id=settings.twitter_app_id,
                session=session,
                timeout=settings.bot_send_timeout,
            )
            return await work(adapter, env_name)

    try:
        return asyncio.run(run())
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _twitter_register(args: argparse.Namespace) -> int:
    from adapters.twitter_setup import SetupError, check_url, describe, register

    try:
        url = check_url(args.url)
    except SetupError as exc:
        raise UsageError(str(exc)) from None

    async def work(adapter: Any, env_name: str) -> int:
        webhook = await register(adapter, env_name, url)
        print(f"Webhook registered in environment {env_name}:")
        print(describe(webhook))
        print("The support account is subscribed: its DMs and mentions now reach the bot.")
        return 0

    return _twitter(work)


def _twitter_status(args: argparse.Namespace) -> int:
    from adapters.twitter_setup import describe, status

    async def work(adapter: Any, env_name: str) -> int:
        webhooks = await status(adapter, env_name)
        if not webhooks:
            print(f"No webhook registered in environment {env_name}.")
        for webhook in webhooks:
            print(describe(webhook))
        return 0

    return _twitter(work)
