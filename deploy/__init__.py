"""Running the service: the proxy's configuration, podman's, the container smoke test."""
