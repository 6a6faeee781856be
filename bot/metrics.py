"""Prometheus metrics, in a registry of the app's own (prometheus-client).

Counters are bumped where things happen (webhooks, workers, agent API); the backlog
gauges are read from the store when `/metrics` is scraped, so they count the work of
every instance sharing the database.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Every metric the service exposes; one instance per application."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.webhooks = Counter(
            "bot_webhooks",
            "Webhook requests, by channel and HTTP status",
            ["channel", "status"],
            registry=r,
        )
        self.signature_failures = Counter(
            "bot_webhook_signature_failures",
            "Webhooks refused for their signature",
            ["channel", "reason"],
            registry=r,
        )
        self.handshake_refusals = Counter(
            "bot_webhook_handshake_refusals",
            "Subscription checks (CRC, hub.challenge) refused, by channel and reason",
            ["channel", "reason"],
            registry=r,
        )
        self.events = Counter(
            "bot_inbox_events",
            "Inbox events processed, by channel and kind",
            ["channel", "kind"],
            registry=r,
        )
        self.decisions = Counter(
            "bot_decisions",
            "Customer messages handled, by matched intent and action",
            ["intent", "action"],
            registry=r,
        )
        self.escalations = Counter(
            "bot_escalations", "Escalations opened, claimed and resolved", ["event"], registry=r
        )
        self.sent = Counter(
            "bot_replies_sent",
            "Replies delivered, by channel and author",
            ["channel", "author"],
            registry=r,
        )
        self.send_failures = Counter(
            "bot_send_failures",
            "Send attempts that failed, by channel, platform error code and outcome",
            ["channel", "code", "outcome"],
            registry=r,
        )
        self.delivery_latency = Histogram(
            "bot_delivery_latency_seconds",
            "From a reply's creation to the platform accepting it",
            ["channel"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=r,
        )
        self.inbox_backlog = Gauge(
            "bot_inbox_backlog", "Inbox events not processed yet", registry=r
        )
        self.outbox_backlog = Gauge("bot_outbox_backlog", "Replies not delivered yet", registry=r)
        self.inbox_failed = Gauge(
            "bot_inbox_failed", "Events set aside after repeated processing errors", registry=r
        )
        self._webhook_counters: dict[tuple[str, int], Counter] = {}
        self.outbox_failed = Gauge(
            "bot_outbox_failed", "Replies given up on (permanent errors)", registry=r
        )

    def webhook(self, channel: str, status: int) -> None:
        """Count one webhook request (on the hot path: the labelled child is kept)."""
        counter = self._webhook_counters.get((channel, status))
        if counter is None:
            counter = self.webhooks.labels(channel, status)
            self._webhook_counters[(channel, status)] = counter
        counter.inc()
