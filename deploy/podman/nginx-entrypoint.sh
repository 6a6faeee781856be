#!/bin/sh
# The official nginx image's start, as far as compose.yaml uses it: each
# /etc/nginx/templates/NAME.template written to /etc/nginx/conf.d/NAME with the variables of
# the environment put in (nginx's own, such as $host, are not in it and stay), and with
# NGINX_ENTRYPOINT_LOCAL_RESOLVERS set, NGINX_LOCAL_RESOLVERS naming the container's DNS server.
set -eu
if [ -n "${NGINX_ENTRYPOINT_LOCAL_RESOLVERS:-}" ]; then
  # The first server only: podman 4 lists the host's after its own, and those do not know
  # the service names (Docker, and podman from version 5, list only their own).
  NGINX_LOCAL_RESOLVERS=$(awk '$1 == "nameserver" { print ($2 ~ /:/) ? "[" $2 "]" : $2; exit }' /etc/resolv.conf)
  export NGINX_LOCAL_RESOLVERS
fi
names=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
for template in /etc/nginx/templates/*.template; do
  [ -f "$template" ] || continue
  target=/etc/nginx/conf.d/$(basename "$template" .template)
  envsubst "$names" < "$template" > "$target"
done
exec "$@"
