"""French answers: Jinja2 templates and the renderer that makes channel-neutral replies."""
