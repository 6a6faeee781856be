"""Turns the policy's `Say`s into channel-neutral `Reply`s, within a channel's limits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import jinja2

from bot.models import Reply, Say
from responses.limits import LOCAL, ChannelLimits, shorten, split_text


class Renderer:
    """Renders the French answer templates of `responses/templates`.

    Templates are plain text (no autoescape: the adapters send text, not HTML) and
    StrictUndefined, so a missing variable is an error at `check` time, not a blank in
    front of a customer.
    """

    def __init__(self) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("responses", "templates"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - plain-text messages; the desk escapes on its own
            keep_trailing_newline=False,
            trim_blocks=True,
            auto_reload=False,  # packaged templates do not change while we run: no stat()
        )

    def template_names(self) -> list[str]:
        return sorted(n.removesuffix(".txt.j2") for n in self._env.list_templates(".j2"))

    def text(self, template: str, context: Mapping[str, object] | None = None) -> str:
        """The text of one template, stripped."""
        return self._env.get_template(f"{template}.txt.j2").render(context or {}).strip()

    def render(self, says: Iterable[Say], limits: ChannelLimits = LOCAL) -> list[Reply]:
        """One or more replies per `Say`; choices and buttons go on the last piece."""
        replies: list[Reply] = []
        for say in says:
            text = self.text(say.template, say.context)
            buttons = say.buttons[: limits.buttons]
            pieces = split_text(text, limits.text)
            if buttons and len(pieces[-1]) > limits.button_text:
                pieces[-1:] = split_text(pieces[-1], limits.button_text)
            quick = tuple(
                qr.model_copy(update={"title": shorten(qr.title, limits.quick_reply_title)})
                for qr in say.quick_replies[: limits.quick_replies]
            )
            replies.extend(Reply(text=piece) for piece in pieces[:-1])
            replies.append(Reply(text=pieces[-1], quick_replies=quick, buttons=buttons))
        return replies
