"""The store's SQL: named queries read from `sql/*.sql`, each in its text for one dialect.

`common.sql` holds what both databases run as written; `sqlite.sql` and `postgres.sql`
give again the names whose text differs. Parameters are written `$1`, `$2`… everywhere;
SQLite reads them as `?1`, `?2`…. A query marked `(bulk)` is run once for many rows.

`Queries` lists every name the store uses: loading checks that each dialect has exactly
those names, so a query missing for one database fails at import, not in production.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from importlib import resources
from typing import Final, Literal

Dialect = Literal["sqlite", "postgresql"]
DIALECTS: Final[tuple[Dialect, ...]] = ("sqlite", "postgresql")
_FILES: Final = {"sqlite": "sqlite.sql", "postgresql": "postgres.sql"}
_NAME_RE: Final = re.compile(r"^-- name: (\w+)( \(bulk\))?\s*$", re.MULTILINE)
_PARAM_RE: Final = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class Query:
    """One named query in one dialect's text, split into its statements.

    `arity` gives, for each statement, how many parameters it binds (the highest it names).
    """

    name: str
    statements: tuple[str, ...]
    arity: tuple[int, ...]
    bulk: bool = False

    @property
    def text(self) -> str:
        return ";\n".join(self.statements)


@dataclass(frozen=True, slots=True)
class Queries:
    """Every query of the store, for one dialect."""

    dialect: Dialect
    # migrations and health
    create_migrations_table: Query
    migrations_applied: Query
    record_migration: Query
    forget_migrations: Query
    schema_version: Query
    lock_migrations: Query
    ping: Query
    write_probe: Query
    # inbox
    add_events: Query
    save_cursors: Query
    cursor: Query
    release_stale_events: Query
    claim_events: Query
    new_message_ids: Query
    finish_turns: Query
    release_event: Query
    drop_bot_replies: Query
    open_escalation: Query
    claim_open_escalation: Query
    set_customer_name: Query
    # outbox
    release_stale_replies: Query
    claim_deliveries: Query
    still_ours: Query
    sent_by_us: Query
    delivered: Query
    confirm_deliveries: Query
    retry_later: Query
    undeliverable: Query
    add_message: Query
    add_delivery: Query
    # reading
    conversation: Query
    transcript: Query
    transcript_texts: Query
    outbox: Query
    backlog_counts: Query
    waiting_arrivals: Query
    # data protection
    forget_events: Query
    forget_conversations: Query
    record_deletion: Query
    deletion: Query
    purge_conversations: Query
    purge_events: Query
    # agents and escalations
    add_agent: Query
    remove_agent: Query
    agents: Query
    agent_for: Query
    escalations: Query
    escalation: Query
    conversation_escalations: Query
    active_escalation: Query
    active_escalations_of: Query
    escalation_holder: Query
    take_escalation: Query
    resolve_escalation: Query
    save_state: Query
    # the desk
    agent_named: Query
    resolved_escalations: Query
    agent_escalations: Query
    release_escalation: Query
    transfer_escalation: Query
    add_session: Query
    session_agent: Query
    renew_session: Query
    end_session: Query
    purge_sessions: Query
    add_note: Query
    notes: Query
    conversation_notes: Query
    conversation_by_id: Query
    names_due: Query
    index_conversation: Query
    search_escalations: Query
    compact_search: Query
    team_replies: Query
    add_team_reply: Query
    update_team_reply: Query
    delete_team_reply: Query
    customer_message: Query
    label_message: Query
    review_candidates: Query
    labelled_messages: Query
    report_totals: Query
    report_days: Query
    report_reasons: Query
    report_problems: Query
    report_first_reply: Query
    report_backlog: Query
    report_agents: Query
    latest_lines: Query


def load(dialect: Dialect) -> Queries:
    """The queries of `dialect`: common.sql, then its own file over it."""
    named = _parse(_read("common.sql"), dialect)
    own = _parse(_read(_FILES[dialect]), dialect)
    named.update(own)
    wanted = {f.name for f in dataclasses.fields(Queries)} - {"dialect"}
    missing, unknown = wanted - named.keys(), named.keys() - wanted
    if missing or unknown:
        raise LookupError(
            f"{dialect} queries: missing {sorted(missing)}, unknown {sorted(unknown)}"
        )
    return Queries(dialect=dialect, **{name: named[name] for name in wanted})


def _read(name: str) -> str:
    return resources.files("bot.store.sql").joinpath(name).read_text("utf-8")


def _parse(text: str, dialect: Dialect) -> dict[str, Query]:
    found: dict[str, Query] = {}
    marks = list(_NAME_RE.finditer(text))
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        body = text[mark.end() : following.start() if following else len(text)]
        name, bulk = mark.group(1), bool(mark.group(2))
        if name in found:
            raise LookupError(f"query {name} is named twice")
        statements = tuple(s.strip() for s in _code(body).split(";") if s.strip())
        if not statements:
            raise LookupError(f"query {name} has no statement")
        if dialect == "sqlite":
            statements = tuple(_PARAM_RE.sub(r"?\1", s) for s in statements)
        arity = tuple(max((int(n) for n in _params(s)), default=0) for s in statements)
        found[name] = Query(name, statements, arity, bulk)
    return found


def _code(statement: str) -> str:
    """The statement without its comments (no query has "--" inside a string)."""
    lines = (line.split("--", 1)[0].rstrip() for line in statement.splitlines())
    return "\n".join(line for line in lines if line).strip()


def _params(statement: str) -> list[str]:
    return re.findall(r"[$?](\d+)", statement)


QUERIES: Final = {dialect: load(dialect) for dialect in DIALECTS}
