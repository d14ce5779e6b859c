"""The local gateway's configuration: HAProxy, generated from the route table.

Each request is matched to a route of `ops/routes.py` (longest prefix first;
no route, or an API path only a page route matched: 404 at the gateway) and sent to its service's backend. Every backend
balances its servers round-robin, health-checks them each second, and retries a
request whose connection failed, or was closed before any answer, on another
server. Per client address it applies the gateway's limit over all routes, then
the route's own limit (429 with `Retry-After`), and refuses a body larger than
the route takes (413). Every error it answers itself is `application/problem+json`.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from ops.routes import API_PREFIX, PAGE_SERVICES, ROUTES, SERVICES, RateLimit, Route, by_precedence
from infra.settings import Settings

# How long the gateway waits on a replica; replicas keep idle connections open longer.
SERVER_TIMEOUT_S = 60


def _problem(status: int, detail: str, retry_after_s: int | None = None) -> str:
    """An `http-request return` of a problem+json answer (a condition follows it)."""
    body = json.dumps({"type": "about:blank", "title": HTTPStatus(status).phrase,
                       "status": status, "detail": detail})
    header = f" hdr Retry-After {retry_after_s}" if retry_after_s is not None else ""
    return (f"http-request return status {status} content-type application/problem+json"
            f"{header} string '{body}'")


def upstreams(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each service's servers: its own from `gateway_upstreams`, else the API replicas (the
    web pages: the web process)."""
    replicas = tuple(f"127.0.0.1:{port}" for port in settings.api_replica_ports)
    local = {"web": (f"127.0.0.1:{settings.web_port}",)}
    return {name: tuple(settings.gateway_upstreams.get(name, local.get(name, replicas)))
            for name in SERVICES}


def _backends(settings: Settings) -> str:
    """One backend per service. A server several backends share is checked only in the
    first; the others track its state."""
    replicas = {f"127.0.0.1:{port}": f"api-{n}"
                for n, port in enumerate(settings.api_replica_ports, start=1)}
    checked: dict[str, str] = {}
    sections = []
    for service, servers in upstreams(settings).items():
        lines = [f"backend svc_{service}", "    balance roundrobin",
                 "    option httpchk GET /healthz", "    http-check expect status 200",
                 "    default-server inter 1s fall 2 rise 1"]
        for n, address in enumerate(servers, start=1):
            name = replicas.get(address, f"{service}-{n}")
            if address in checked:
                lines.append(f"    server {name} {address} track {checked[address]}")
            else:
                checked[address] = f"svc_{service}/{name}"
                lines.append(f"    server {name} {address} check")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def _is_route(*routes: Route) -> str:
    return "{ var(txn.route) -m str " + " ".join(r.name for r in routes) + " }"


def _too_many(limit: RateLimit, scope: str) -> str:
    return _problem(429, f"This client sent too many requests {scope}; retry after the "
                         "given seconds.", retry_after_s=limit.window_s)


def _limit_table(route: Route) -> str:
    return f"limit_{route.name}"


def haproxy_config(settings: Settings) -> str:
    client = RateLimit(settings.gateway_rate_limit, settings.gateway_rate_window_s)
    client_table = (f"stick-table type ip size 100k expire {client.window_s * 6}s "
                    f"store http_req_rate({client.window_s}s)")
    request_id = ("http-request set-header X-Request-ID %[uuid()] "
                  "unless { req.hdr(X-Request-ID) -m found }")
    matching = "\n".join(
        f"    http-request set-var(txn.route) str({route.name}) "
        f"if !{{ var(txn.route) -m found }} {{ path_beg {prefix} }}"
        for prefix, route in by_precedence()
    )
    pages = [r for r in ROUTES if r.service in PAGE_SERVICES]
    limited = [r for r in ROUTES if r.limit]
    route_limits = "\n".join(
        f"    http-request track-sc1 src table {_limit_table(r)} if {_is_route(r)}\n"
        f"    {_too_many(r.limit, 'to this resource')} "
        f"if {_is_route(r)} {{ sc_http_req_rate(1) gt {r.limit.requests} }}"
        for r in limited
    )
    sizes: dict[int, list[Route]] = {}
    for route in ROUTES:
        sizes.setdefault(route.max_body_bytes, []).append(route)
    body_limits = "\n".join(
        f"    {_problem(413, f'The request body is larger than {size} bytes.')} "
        f"if {_is_route(*routes)} {{ req.hdr_val(content-length) gt {size} }}"
        for size, routes in sorted(sizes.items())
    )
    dispatch = "\n".join(
        f"    use_backend svc_{service} if "
        f"{_is_route(*[r for r in ROUTES if r.service == service])}"
        for service in SERVICES if any(r.service == service for r in ROUTES)
    )
    tables = "\n\n".join(
        f"backend {_limit_table(r)}\n"
        f"    stick-table type ip size 100k expire {r.limit.window_s * 2}s "
        f"store http_req_rate({r.limit.window_s}s)"
        for r in limited
    )
    return f"""\
# Generated by ops/gateway.py from the route table in ops/routes.py: do not edit.
global
    maxconn 4096
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server {SERVER_TIMEOUT_S}s
    timeout http-request 10s
    # A request is retried on another server when its connection failed, or when the
    # server closed it before answering anything (a replica stopping), never after an
    # answer began. A replica that stops cleanly answers what it took, so only a crash
    # mid-request can replay a write: send writes with an Idempotency-Key.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend gateway
    bind 127.0.0.1:{settings.gateway_port}
    # Overwrite, never append: a client must not choose the address limits are counted by.
    http-request set-header X-Forwarded-For %[src]
    {request_id}

    # Per client address, over all routes: {client.requests} requests per {client.window_s}s.
    {client_table}
    http-request track-sc0 src
    {_too_many(client, 'through this gateway')} if {{ sc_http_req_rate(0) gt {client.requests} }}

    # The route: the longest matching prefix.
{matching}
    {_problem(404, 'No resource matches this path.')} if !{{ var(txn.route) -m found }}
    {_problem(404, 'No resource matches this path.')} if {_is_route(*pages)} {{ path_beg {API_PREFIX} }}

    # Routes with a limit of their own, per client address.
{route_limits}

    # The largest request body each route takes.
{body_limits}

{dispatch}

{_backends(settings)}

{tables}

frontend stats
    bind 127.0.0.1:{settings.gateway_stats_port}
    stats enable
    stats uri /stats
    stats refresh 5s
"""
