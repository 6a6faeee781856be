"""The support lead's reports: `/api/reports` (JSON), `/api/reports.csv` (per day) and the
page `/desk/reports`, whose charts are SVG drawn here, on the server: no script, nothing to
build, readable without JavaScript and printable.

Every figure comes from the store's report queries (computed by the database); this module
only checks the period, derives the rates and lays the charts out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from aiohttp import web

from bot.desk.api import BadInput, agents_only
from bot.desk.auth import identify
from bot.desk.brief import CHANNEL_NAMES
from bot.http import CLOCK, ENGINE, STORE, error

MAX_DAYS: Final = 366
DEFAULT_DAYS: Final = 30
CHANNELS: Final = ("messenger", "twitter", "local")
REASON_LABELS: Final = {
    "asked_for_human": "Demande d'un conseiller",
    "not_solved": "Réponse sans effet (« Non »)",
    "not_understood": "Demande non comprise",
    "unreadable_attachment": "Pièce jointe illisible",
    "answered_natively": "Réponse depuis l'application",
    "other_topic": "Autre sujet",
    "hacked": "Compte piraté",
    "phishing": "E-mail suspect",
    "payment": "Paiement, fraude",
    "legal": "Juridique, données",
    "distress": "Détresse, menaces",
}
CHANNEL_COLOURS: Final = {"messenger": "#1d4ed8", "twitter": "#111827", "local": "#047857"}


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # included
    channel: str | None

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def query(self) -> str:
        channel = f"&channel={self.channel}" if self.channel else ""
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}{channel}"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/reports", agents_only(reports_json))
    app.router.add_get("/api/reports.csv", agents_only(reports_csv))
    app.router.add_get("/desk/reports", reports_page)


def period(request: web.Request) -> Period:
    """The period asked (`from`, `to` as YYYY-MM-DD, UTC, `to` included; the last 30 days
    by default) and the channel; BadInput when it makes no sense."""
    today = datetime.fromtimestamp(request.app[CLOCK](), UTC).date()

    def day(name: str, default: date) -> date:
        raw = request.query.get(name, "").strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw) if len(raw) == 10 else _bad(name)
        except ValueError:
            return _bad(name)

    end = day("to", today)
    start = day("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise BadInput("from: must not be after to")
    if (end - start).days >= MAX_DAYS:
        raise BadInput(f"a period is at most {MAX_DAYS} days")
    channel = request.query.get("channel", "").strip() or None
    if channel is not None and channel not in CHANNELS:
        raise BadInput(f"channel must be one of {', '.join(CHANNELS)}")
    return Period(start, end, channel)


def _bad(name: str) -> date:
    raise BadInput(f"{name}: a date is written YYYY-MM-DD")


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


async def figures(request: web.Request, when: Period) -> dict[str, Any]:
    """The report of DESIGN.md's shape, with the rates and every day of the period."""
    now = request.app[CLOCK]()
    raw = await request.app[STORE].report(
        _epoch(when.start), _epoch(when.end + timedelta(days=1)), when.channel
    )
    catalogue = request.app[ENGINE].catalogue
    by_day: dict[str, dict[str, Any]] = {
        d.isoformat(): {
            "date": d.isoformat(), "conversations": 0, "solved_by_bot": 0, "escalations": 0,
            "yes": 0, "no": 0, "channels": {},
        }
        for d in when.days
    }
    for row in raw["days"]:
        day = by_day.get(row["date"])
        if day is None:
            continue
        for key in ("conversations", "solved_by_bot", "escalations", "yes", "no"):
            day[key] += row[key]
        day["channels"][row["channel"]] = row["conversations"]
    total = sum(raw["reasons"].values())
    yes, no = sum(d["yes"] for d in by_day.values()), sum(d["no"] for d in by_day.values())
    oldest = [b["oldest"] for b in raw["backlog"].values()]
    names = {intent.id: intent.full_name for intent in catalogue.intents}
    return {
        "from": when.start.isoformat(),
        "to": when.end.isoformat(),
        "channel": when.channel,
        "conversations": raw["conversations"],
        "solved_by_bot": raw["solved_by_bot"],
        "solved_by_bot_rate": _rate(raw["solved_by_bot"], raw["conversations"]),
        "escalations": {
            "total": total,
            "rate": _rate(total, raw["conversations"]),
            "by_reason": raw["reasons"],
        },
        "feedback": {"yes": yes, "no": no, "csat": _rate(yes, yes + no)},
        "no_rate_by_problem": [
            {"intent": intent, "name": names.get(intent, intent), "answers": counts["answers"],
             "no": counts["no"], "rate": _rate(counts["no"], counts["answers"])}
            for intent, counts in raw["problems"].items()
        ],
        "first_human_reply_seconds": {
            "median": raw["first_reply"]["median"],
            "p90": raw["first_reply"]["p90"],
            "replied": raw["first_reply"]["replied"],
        },
        "backlog": {
            "open": raw["backlog"].get("open", {}).get("escalations", 0),
            "claimed": raw["backlog"].get("claimed", {}).get("escalations", 0),
            "oldest_seconds": int(now - min(oldest)) if oldest else None,
        },
        "agents": raw["agents"],
        "days": list(by_day.values()),
    }


async def reports_json(request: web.Request) -> web.Response:
    return web.json_response(await figures(request, period(request)))


CSV_COLUMNS: Final = ("date", "conversations", "solved_by_bot", "escalations", "yes", "no")


async def reports_csv(request: web.Request) -> web.Response:
    """The same figures, one line per day (UTC), conversations per channel at the end."""
    when = period(request)
    report = await figures(request, when)
    channels = [when.channel] if when.channel else list(CHANNELS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, *(f"conversations_{c}" for c in channels)])
    for day in report["days"]:
        writer.writerow(
            [*(day[c] for c in CSV_COLUMNS), *(day["channels"].get(c, 0) for c in channels)]
        )
    name = f"rapport-{when.start.isoformat()}-{when.end.isoformat()}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- the page ---------------------------------------------------------------------------


async def reports_page(request: web.Request) -> web.StreamResponse:
    from bot.desk.pages import SECURITY_HEADERS, TEMPLATES, see_desk

    who = await identify(request)
    if who is None:
        return see_desk()
    try:
        when = period(request)
    except BadInput as exc:
        return error(400, str(exc))
    report = await figures(request, when)
    html = request.app[TEMPLATES].get_template("reports.html.j2").render(
        agent=who.name, report=report, when=when, charts=charts(report),
        channels=[(c, CHANNEL_NAMES[c]) for c in CHANNELS], csv=f"/api/reports.csv?{when.query()}",
        duration=duration,
    )  # fmt: skip
    return web.Response(
        text=html, content_type="text/html", charset="utf-8", headers=SECURITY_HEADERS
    )


def duration(seconds: float | None) -> str:
    """A wait in words: "12 min", "3 h 05", "2 j"."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 48 * 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d}"
    return f"{s // 86400} j"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # what a reader is told of it


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[float, float, str]]  # text at (x, y)
    rows: list[tuple[str, str]]  # the same figures as a table


def charts(report: dict[str, Any]) -> list[Chart]:
    reasons = sorted(report["escalations"]["by_reason"].items(), key=lambda i: -i[1])
    problems = sorted(report["no_rate_by_problem"], key=lambda p: -(p["rate"] or 0))
    return [
        _daily(report),
        _horizontal(
            "Raisons des transferts à un conseiller",
            [(REASON_LABELS.get(reason, reason), n, str(n)) for reason, n in reasons],
        ),
        _horizontal(
            "Part de « Non » après une réponse, par problème",
            [
                (p["name"], p["rate"] or 0.0, f"{_percent(p['rate'])} ({p['no']} / {p['answers']})")
                for p in problems
            ],
            ceiling=1.0,
        ),
        _horizontal(
            "Charge par conseiller (demandes traitées)",
            [
                (a["agent"], a["handled"],
                 f"{a['handled']} traitées, {a['resolved']} closes, {a['replies']} réponses")
                for a in report["agents"]
            ],
        ),
    ]


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)} %"


def _daily(report: dict[str, Any]) -> Chart:
    """Conversations per day, stacked by channel, with the day's escalations in words."""
    days = report["days"]
    width, height, left, bottom, top = 720, 240, 36, 28, 12
    peak = max([d["conversations"] for d in days] + [1])
    step = (width - left - 8) / max(len(days), 1)
    scale = (height - bottom - top) / peak
    bars: list[Bar] = []
    labels: list[tuple[float, float, str]] = []
    for n, day in enumerate(days):
        x, base = left + n * step + step * 0.15, height - bottom
        for channel, count in sorted(day["channels"].items()):
            h = count * scale
            base -= h
            name = CHANNEL_NAMES.get(channel, channel)
            bars.append(
                Bar(round(x, 1), round(base, 1), round(step * 0.7, 1), round(h, 1),
                    CHANNEL_COLOURS.get(channel, "#6b7280"),
                    f"{day['date']} : {count} conversation(s) {name}")
            )
        if len(days) <= 16 or n % max(1, len(days) // 8) == 0:
            labels.append((round(x, 1), height - 10, day["date"][5:]))
    labels += [(2, top + 8, str(peak)), (2, height - bottom, "0")]
    rows = [
        (d["date"], f"{d['conversations']} conversations, {d['solved_by_bot']} résolues par "
         f"l'assistant, {d['escalations']} transferts")
        for d in days
    ]
    return Chart("Conversations par jour et par canal", width, height, bars, labels, rows)


def _horizontal(
    title: str, items: list[tuple[str, float, str]], ceiling: float | None = None
) -> Chart:
    width, row, left = 720, 26, 260
    height = max(row * len(items) + 8, 40)
    peak = ceiling or max([value for _, value, _ in items] + [1])
    bars: list[Bar] = []
    labels: list[tuple[float, float, str]] = []
    for n, (name, value, said) in enumerate(items):
        y = 4 + n * row
        w = (width - left - 240) * (value / peak if peak else 0)
        bars.append(Bar(left, y, round(max(w, 1), 1), row - 8, "#1d4ed8", f"{name} : {said}"))
        labels.append((4, y + row - 12, name[:38]))
        labels.append((left + round(w, 1) + 6, y + row - 12, said))
    if not items:
        labels.append((4, 24, "Rien sur cette période."))
    return Chart(title, width, height, bars, labels, [(name, said) for name, _, said in items])
