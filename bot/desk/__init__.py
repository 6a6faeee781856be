"""The agent desk: token authentication, the JSON agent API, server-sent events, the web page."""
