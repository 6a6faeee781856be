"""One module per channel: verify and parse webhooks, send replies through the platform's API."""
