"""The route table, and the two gateway configurations generated from it.

HAProxy checks its configuration with `haproxy -c`; Kong's `kong.yml` is checked
offline with Debian's `deck validate`. Both programs are installed by the stack's
gateway part (`shopstream stack up gateway`), or here if missing.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from api import health
from api.app import SERVICE_ROUTERS
from ops.gateway import haproxy_config
from ops.kong import CONSUMER, jwt_credentials, kong_config, render
from ops.routes import ROUTES, SERVICES, RateLimit, by_precedence, route_for
from infra.security import TokenSigner
from infra.settings import PROJECT_ROOT, Settings
from ops.stack import installers

KONG_FILE = PROJECT_ROOT / "ops" / "deploy" / "kong.yml"


def default_client_limit() -> RateLimit:
    fields = Settings.model_fields
    return RateLimit(fields["gateway_rate_limit"].default, fields["gateway_rate_window_s"].default)


def program(name: str) -> str:
    installers.debian_packages({name: name})
    found = installers.find_executable(name)
    assert found, f"{name} is not installed"
    return found


def signing_key() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                     NoEncryption())
    return base64.b64encode(raw).decode()


# The route table


def test_route_names_and_prefixes_are_unique_and_services_known() -> None:
    names = [r.name for r in ROUTES]
    prefixes = [p for r in ROUTES for p in r.prefixes]
    assert len(names) == len(set(names))
    assert len(prefixes) == len(set(prefixes))
    assert {r.service for r in ROUTES} <= set(SERVICES)
    # Every service of the API has an entry in the table, and the other way round.
    assert set(SERVICE_ROUTERS) == set(SERVICES) - {"docs", "web"}


def test_every_api_path_is_routed_to_the_service_that_serves_it() -> None:
    served = {**SERVICE_ROUTERS,
              "operations": [health.router, *SERVICE_ROUTERS["operations"]]}
    for service, routers in served.items():
        for router in routers:
            for api_route in router.routes:
                route = route_for(api_route.path)
                assert route is not None and route.service == service, \
                    f"{api_route.path} is served by {service}, routed to {route}"
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"):
        assert route_for(path).service == "docs"


def test_the_longest_prefix_wins() -> None:
    assert route_for("/v1/users/me/password").name == "users-me"
    assert route_for("/v1/users").name == "users"
    assert route_for("/v1/auth/password-reset/confirm").name == "auth-password-reset"
    assert route_for("/v1/auth/login").name == "auth"
    assert route_for("/v1/admin/products/1").name == "catalog-admin"
    assert route_for("/v1/admin/orders").service == "orders"
    # Every path no API route claims is a page of the web process.
    assert route_for("/nothing").service == "web"
    assert route_for("/").name == "storefront"
    assert route_for("/console/orders").name == "console"
    assert route_for("/v1/nothing").service == "web"  # which answers it problem+json 404
    lengths = [len(prefix) for prefix, _ in by_precedence()]
    assert lengths == sorted(lengths, reverse=True)


def test_routes_that_need_a_signed_in_user_demand_a_token_at_the_gateway() -> None:
    from api.deps import CurrentUser

    principal = CurrentUser.__metadata__[0].dependency

    def needs_user(dependant) -> bool:
        return any(d.call is principal or needs_user(d) for d in dependant.dependencies)

    api_routes = [api_route for routers in SERVICE_ROUTERS.values() for router in routers
                  for api_route in router.routes]
    signed_in = {r.path for r in api_routes if needs_user(r.dependant)}
    assert {"/v1/cart/merge", "/v1/admin/products", "/v1/auth/logout"} <= signed_in
    # The gateway demands a token exactly where the API needs a signed-in user, but under
    # `/v1/orders`, where a guest reads an order with its token: the API alone checks.
    guarded = {r.path for r in api_routes if route_for(r.path).auth}
    assert guarded == {path for path in signed_in if not path.startswith("/v1/orders")}


# HAProxy


@pytest.mark.parametrize("upstreams", [{}, {"catalog": ["127.0.0.1:9101", "127.0.0.1:9102"]}])
def test_the_haproxy_config_is_valid(tmp_path: Path, upstreams: dict) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(Settings(gateway_upstreams=upstreams)))
    result = subprocess.run([program("haproxy"), "-c", "-f", str(config)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_haproxy_config_follows_the_table() -> None:
    settings = Settings(gateway_upstreams={"catalog": ["127.0.0.1:9101"]})
    config = haproxy_config(settings)
    matched = [line.split("path_beg ")[1].rstrip(" }") for line in config.splitlines()
               if "set-var(txn.route)" in line]
    assert matched == [prefix for prefix, _ in by_precedence()]
    for route in ROUTES:
        if route.limit:
            assert f"gt {route.limit.requests} }}" in config
            assert f"http_req_rate({route.limit.window_s}s)" in config
    assert "server catalog-1 127.0.0.1:9101 check" in config
    # The other services go to the replicas (wherever the settings put them), the pages to
    # the web process.
    assert f"server api-1 127.0.0.1:{settings.api_replica_ports[0]} check" in config
    assert f"server web-1 127.0.0.1:{settings.web_port} check" in config


# Kong


def test_the_committed_kong_yml_is_the_generated_one() -> None:
    generated = render(kong_config(default_client_limit()))
    assert KONG_FILE.read_text() == generated, (
        "ops/deploy/kong.yml is stale: run "
        "`shopstream gateway kong --output ops/deploy/kong.yml`")


def test_the_kong_yml_follows_the_table() -> None:
    config = yaml.safe_load(KONG_FILE.read_text())
    routes = {r["name"]: (s, r) for s in config["services"] for r in s["routes"]}
    assert set(routes) == {r.name for r in ROUTES if r.public}
    assert "/metrics" not in [p for _, r in routes.values() for p in r["paths"]]
    for route in ROUTES:
        if not route.public:
            continue
        service, kong_route = routes[route.name]
        plugins = {p["name"]: p["config"] for p in kong_route["plugins"]}
        assert service["name"] == route.service
        upstream = SERVICES[route.service]
        assert service["url"] == f"http://{upstream.upstream}:{upstream.port}"
        assert kong_route["paths"] == list(route.prefixes)
        assert ("jwt" in plugins) == route.auth
        assert plugins["request-size-limiting"]["allowed_payload_size"] == route.max_body_bytes
        if route.limit:
            assert plugins["rate-limiting"]["policy"] == "redis"
    (client_limit,) = [p for p in config["plugins"] if p["name"] == "rate-limiting"]
    assert client_limit["config"]["limit_by"] == "ip"
    assert client_limit["config"]["redis"]["password"].startswith("{vault://env/")
    assert {p["name"] for p in config["plugins"]} >= {"rate-limiting", "cors"}


def deck_validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([program("deck"), "validate", "--state", str(path)],
                          capture_output=True, text=True)


def test_deck_validates_the_kong_yml(tmp_path: Path) -> None:
    result = deck_validate(KONG_FILE)
    assert result.returncode == 0, result.stdout + result.stderr
    # As rendered at deploy time, with the keys that verify access tokens.
    with_keys = tmp_path / "kong.yml"
    with_keys.write_text(render(kong_config(
        default_client_limit(), credentials=jwt_credentials(f"{signing_key()},{signing_key()}"))))
    result = deck_validate(with_keys)
    assert result.returncode == 0, result.stdout + result.stderr
    # And deck does reject a broken file.
    broken = tmp_path / "broken.yml"
    broken.write_text(KONG_FILE.read_text().replace("strip_path: false", "strip_path: 'no'", 1))
    assert deck_validate(broken).returncode != 0


def test_kong_verifies_the_tokens_the_api_signs() -> None:
    """Kong finds the credential by the token's `kid`, then checks the EdDSA signature."""
    keys = f"{signing_key()},{signing_key()}"
    signer = TokenSigner(Settings(jwt_signing_keys=keys))
    token = signer.issue("a-user", ["customer"])
    credentials = {c["key"]: c for c in jwt_credentials(keys)}
    assert len(credentials) == 2
    credential = credentials[jwt.get_unverified_header(token)["kid"]]
    assert credential["algorithm"] == "EdDSA"
    claims = jwt.decode(token, credential["rsa_public_key"], algorithms=["EdDSA"],
                        audience=TokenSigner.AUDIENCE)
    assert claims["sub"] == "a-user"
    consumer = kong_config(default_client_limit(), credentials=list(credentials.values()))
    assert consumer["consumers"] == [{"username": CONSUMER, "tags": ["shopstream"],
                                      "jwt_secrets": list(credentials.values())}]
