"""French answers: Jinja2 templates and the renderer that turns them into channel-neutral replies."""
