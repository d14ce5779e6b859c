"""The local gateway's configuration: HAProxy balancing the API replicas.

It health-checks each replica, retries a request whose connection failed on
another one, and limits each client address to a request rate (429 with
`Retry-After` past it).
"""

from __future__ import annotations

import json

from infra.settings import Settings


def haproxy_config(settings: Settings) -> str:
    too_many = json.dumps({
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "This client sent too many requests; retry after the given seconds.",
    })
    window_s = settings.gateway_rate_window_s
    servers = "\n".join(
        f"    server api-{n} 127.0.0.1:{port} check"
        for n, port in enumerate(settings.api_replica_ports, start=1)
    )
    return f"""\
global
    maxconn 4096
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    # A replica that refuses the connection is retried on another one.
    retries 2
    option redispatch
    retry-on conn-failure

frontend gateway
    bind 127.0.0.1:{settings.gateway_port}
    # Overwrite, never append: a client must not choose the address limits are counted by.
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Request-ID %[uuid()] unless {{ req.hdr(X-Request-ID) -m found }}
    stick-table type ip size 100k expire {window_s * 6}s store http_req_rate({window_s}s)
    http-request track-sc0 src
    http-request return status 429 content-type application/problem+json hdr Retry-After {window_s} string '{too_many}' if {{ sc_http_req_rate(0) gt {settings.gateway_rate_limit} }}
    default_backend api

backend api
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}

frontend stats
    bind 127.0.0.1:{settings.gateway_stats_port}
    stats enable
    stats uri /stats
    stats refresh 5s
"""
