"""Every setting shopstream reads, from `SHOPSTREAM_*` environment variables.

This is the only module that reads the environment. Local defaults work after
`make up`; secrets are never defaulted here: the local stack writes generated
ones to `.stack/shopstream.env`, which is read as a fallback for the environment.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_stack_dir() -> Path:
    return Path(os.environ.get("SHOPSTREAM_STACK_DIR", PROJECT_ROOT / ".stack"))


class OidcProvider(BaseModel):
    """An OpenID Connect identity provider that users may sign in with."""

    # Its discovery document is `<issuer>/.well-known/openid-configuration`.
    issuer: str
    client_id: str
    client_secret: SecretStr
    # Our callback, registered with the provider: `<public_url>/v1/auth/oauth/<name>/callback`.
    redirect_uri: str
    scope: str = "openid email profile"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHOPSTREAM_",
        env_file=default_stack_dir() / "shopstream.env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: str = "development"
    # Added to every default port, so a second stack (a test run beside `make up`) fits.
    port_offset: int = 0
    stack_dir: Path = Field(default_factory=default_stack_dir)
    cache_dir: Path = Path.home() / ".cache" / "shopstream"
    # Installs that share a machine-wide resource (apt, ~/.m2, the Go cache, cache_dir)
    # take turns through lock files here, across stacks and users.
    install_lock_dir: Path = Path(tempfile.gettempdir()) / "shopstream-locks"
    # Each part's log (`<stack>/logs/<part>.log`) rolls over at this size; this many
    # rolled-over logs are kept beside it.
    stack_log_max_bytes: int = 10 * 1024 * 1024
    stack_log_backups: int = 3

    # Kafka
    kafka_bootstrap: str = ""  # default: every local broker, 127.0.0.1:<kafka_broker_ports>
    # Brokers of the local stack: 1, or 3 for a cluster (`shopstream stack up --brokers 3`,
    # which stores it in the stack's shopstream.env). Node n listens on kafka_port + 2(n-1)
    # and its controller on kafka_controller_port + 2(n-1).
    kafka_brokers: int = 1
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_partitions: int = 6
    # Default: 1 and 1 on one broker, 3 and 2 on a cluster.
    kafka_replication_factor: int = 0
    kafka_min_insync_replicas: int = 0

    # MySQL (MariaDB locally)
    mysql_host: str = "127.0.0.1"
    mysql_port: int = 3306
    mysql_database: str = "shopstream"
    mysql_user: str = "shopstream"
    mysql_password: SecretStr = SecretStr("")

    # PostgreSQL: only the local FerretDB's storage (production runs MongoDB itself). Not
    # 5432: Debian's package starts a cluster of its own there on some machines.
    postgresql_port: int = 5439
    postgresql_user: str = "ferretdb"
    postgresql_database: str = "ferretdb"
    postgresql_password: SecretStr = SecretStr("")

    # MongoDB (FerretDB locally)
    mongodb_port: int = 27017
    mongodb_url: str = ""  # default: the local FerretDB
    mongodb_database: str = "shopstream"

    # Redis
    redis_port: int = 6379
    redis_url: str = ""  # default: the local Redis

    # Elasticsearch
    elasticsearch_port: int = 9200
    elasticsearch_transport_port: int = 9300
    elasticsearch_url: str = ""  # default: the local Elasticsearch

    # Email: SMTP in development (the local mail sink), SES in production
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_api_port: int = 8025
    # "smtp" (the local mail sink, or any SMTP relay) or "ses" (Amazon SES through boto3).
    mail_transport: str = "smtp"
    mail_from: str = "shopstream <no-reply@shopstream.local>"
    ses_region: str = "eu-west-1"
    # Only for testing against a local SES endpoint (moto_server); empty for AWS itself.
    ses_endpoint_url: str = ""

    # Card payments: Stripe's API (stripe-mock locally)
    stripe_mock_port: int = 12111
    stripe_api_url: str = ""  # default: the local stripe-mock
    # Stripe's secret API key (any `sk_test_` key for stripe-mock; generated locally).
    stripe_api_key: SecretStr = SecretStr("")
    # The signing secret of our webhook endpoint at Stripe (`whsec_...`; generated locally).
    stripe_webhook_secret: SecretStr = SecretStr("")
    # Webhook signatures older than this are refused (replays).
    stripe_webhook_tolerance_s: int = 300
    # The sandbox provider's bank settles a transfer this long after it was requested.
    sandbox_bank_delay_s: float = 2.0
    # Who takes card payments: "sandbox" (the test tokens of docs) or "stripe".
    card_payment_provider: Literal["sandbox", "stripe"] = "sandbox"
    # A payment not settled this long after it was requested fails and cancels its order:
    # cards and wallets answer at once, a bank transfer takes days.
    payment_timeout_s: float = 15 * 60
    bank_transfer_timeout_s: float = 3 * 24 * 3600

    # Social login: OpenID Connect providers by name, as JSON in `SHOPSTREAM_OIDC_PROVIDERS`.
    # In development the default is one provider, "local": the stack's own OIDC server.
    oidc_providers: dict[str, OidcProvider] = {}
    oidc_port: int = 8181
    # The local provider's client secret (generated into .stack/shopstream.env).
    oidc_client_secret: SecretStr = SecretStr("")
    # How long a sign-in started at a provider may take to come back to the callback.
    oauth_state_ttl_s: int = 600

    # The workers' own web servers (health, and Faust's views), one per role; the second
    # worker of a role (on a cluster) listens len(worker_web_ports) above the first.
    worker_web_ports: list[int] = [6066, 6067, 6068, 6069, 6070]
    # Workers of each role the local stack runs: default 1, 2 on a cluster.
    workers_per_role: int = 0
    # How long a worker's partition may make no progress before Faust logs it as stalled
    # (its stream_processing_timeout and broker_commit_livelock_soft_timeout).
    worker_stall_timeout_s: float = 300.0
    # How long the API waits for a command's answer before answering 503.
    command_timeout_s: float = 10.0

    # HTTP
    gateway_port: int = 8080
    gateway_stats_port: int = 8404
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_replica_ports: list[int] = [8001, 8002]
    public_url: str = ""  # default: the local gateway
    # Requests one client address may send per window through the gateway, over all routes
    # (routes may have a tighter limit of their own: `ops/routes.py`).
    gateway_rate_limit: int = 2000
    gateway_rate_window_s: int = 10
    # Where the local gateway sends a service's requests, as JSON {service: ["host:port", ...]};
    # a service not named goes to the API replicas (`api_replica_ports`).
    gateway_upstreams: dict[str, list[str]] = {}
    # The services (`ops/routes.py`) this API process serves; empty: all of them.
    api_services: list[str] = []
    # Proxies whose X-Forwarded-For the API trusts (comma separated, or "*"): the gateway.
    api_forwarded_allow_ips: str = "127.0.0.1"

    # The web pages (storefront and console): their own process behind the gateway.
    web_host: str = "127.0.0.1"
    web_port: int = 8010
    # Where the web process sends its API calls, tried in turn (one is down: the next):
    # default the local API replicas; in production the gateway in front of the API.
    web_api_urls: list[str] = []
    # How long the web process waits for one API answer.
    web_api_timeout_s: float = 15.0
    # Proxies whose X-Forwarded-For the web process trusts (comma separated, or "*").
    web_forwarded_allow_ips: str = "127.0.0.1"

    # Secrets (generated into .stack/shopstream.env locally; a secret store in production).
    # The key that wraps every subject's data key (base64 of 32 bytes).
    master_key: SecretStr = SecretStr("")
    # The key of the keyed hash that turns an email address into its lookup key.
    email_index_key: SecretStr = SecretStr("")
    # The key that makes emailed link tokens (verification, password reset).
    link_token_key: SecretStr = SecretStr("")
    # The key of the keyed hashes of guest tokens: a guest cart's id, an order token.
    guest_token_key: SecretStr = SecretStr("")
    # Ed25519 private keys that sign access tokens, base64 of 32 bytes each, comma
    # separated; the first signs, all verify (so keys can be rotated).
    jwt_signing_keys: SecretStr = SecretStr("")

    access_token_ttl_s: int = 900
    # A session (its refresh token) lives this long; "remember me" the longer one.
    session_lifetime_s: int = 24 * 3600
    remembered_session_lifetime_s: int = 30 * 24 * 3600
    # Failed logins allowed per account and per client address in the window, then 429.
    login_failures_per_account: int = 5
    # Many shoppers can share one address (offices, mobile carriers): keep this generous.
    login_failures_per_address: int = 100
    login_failure_window_s: int = 15 * 60
    # Password reset emails one address may be sent per hour.
    resets_per_account_per_hour: int = 3
    verification_link_ttl_s: int = 7 * 24 * 3600
    reset_link_ttl_s: int = 30 * 60
    # Where the links in emails point: the shop's front end.
    frontend_url: str = ""  # default: the gateway
    # How long a read that carries a consistency token waits for its view to catch up.
    consistency_wait_s: float = 5.0

    # Webhooks: whether subscriptions may target private, loopback or link-local addresses
    # (default: only in development, where the receivers run on this machine).
    webhook_allow_private_targets: bool | None = None
    # One delivery attempt may take this long before it counts as failed.
    webhook_timeout_s: float = 10.0
    # Deliveries one subscription sends at once (to different aggregates).
    webhook_concurrency: int = 8

    # Readiness checks give each dependency this long to answer.
    readiness_timeout_s: float = 2.0

    @model_validator(mode="after")
    def _local_defaults(self) -> Settings:
        """Shift default ports by `port_offset`; derive URLs that were not given."""
        if self.port_offset:
            for name in _PORT_SETTINGS:
                if name not in self.model_fields_set:
                    value = getattr(self, name)
                    shifted = ([p + self.port_offset for p in value] if isinstance(value, list)
                               else value + self.port_offset)
                    object.__setattr__(self, name, shifted)
        if self.kafka_brokers not in (1, 3):
            raise ValueError("kafka_brokers is 1, or 3 for a cluster")
        clustered = self.kafka_brokers > 1
        for name, value in (("kafka_replication_factor", 3 if clustered else 1),
                            ("kafka_min_insync_replicas", 2 if clustered else 1),
                            ("workers_per_role", 2 if clustered else 1)):
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        derived = {
            "kafka_bootstrap": ",".join(f"127.0.0.1:{port}" for port in self.kafka_broker_ports),
            "mongodb_url": f"mongodb://127.0.0.1:{self.mongodb_port}/",
            "redis_url": f"redis://127.0.0.1:{self.redis_port}/0",
            "elasticsearch_url": f"http://127.0.0.1:{self.elasticsearch_port}",
            "stripe_api_url": f"http://127.0.0.1:{self.stripe_mock_port}",
            "public_url": f"http://127.0.0.1:{self.gateway_port}",
            "frontend_url": self.public_url or f"http://127.0.0.1:{self.gateway_port}",
        }
        for name, value in derived.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        if not self.web_api_urls:
            object.__setattr__(self, "web_api_urls",
                               [f"http://127.0.0.1:{port}" for port in self.api_replica_ports])
        if self.webhook_allow_private_targets is None:
            object.__setattr__(self, "webhook_allow_private_targets",
                               self.environment == "development")
        if not self.oidc_providers and self.environment == "development":
            # Never a default elsewhere: the local server vouches for whatever it is told.
            object.__setattr__(self, "oidc_providers", {"local": OidcProvider(
                issuer=f"http://127.0.0.1:{self.oidc_port}/local", client_id="shopstream",
                client_secret=self.oidc_client_secret,
                redirect_uri=f"{self.public_url}/v1/auth/oauth/local/callback")})
        return self

    @property
    def kafka_broker_ports(self) -> list[int]:
        """The client port of each local broker, node 1 first."""
        return [self.kafka_port + 2 * n for n in range(self.kafka_brokers)]

    @property
    def kafka_controller_ports(self) -> list[int]:
        """The controller port of each local broker, node 1 first."""
        return [self.kafka_controller_port + 2 * n for n in range(self.kafka_brokers)]

    def worker_web_port(self, role_index: int, instance: int = 1) -> int:
        """The web port of worker `instance` (from 1) of the role at `role_index`."""
        return self.worker_web_ports[role_index] + len(self.worker_web_ports) * (instance - 1)

    @property
    def mysql_url(self) -> str:
        password = self.mysql_password.get_secret_value()
        return (
            f"mysql+aiomysql://{self.mysql_user}:{password}@{self.mysql_host}:"
            f"{self.mysql_port}/{self.mysql_database}?charset=utf8mb4"
        )

    @property
    def postgresql_url(self) -> str:
        password = self.postgresql_password.get_secret_value()
        return (f"postgres://{self.postgresql_user}:{password}@127.0.0.1:"
                f"{self.postgresql_port}/{self.postgresql_database}")


_PORT_SETTINGS = (
    "kafka_port", "kafka_controller_port", "mysql_port", "postgresql_port", "mongodb_port",
    "redis_port", "elasticsearch_port", "elasticsearch_transport_port", "smtp_port",
    "mail_api_port", "stripe_mock_port", "oidc_port", "worker_web_ports", "gateway_port",
    "gateway_stats_port", "api_port", "api_replica_ports", "web_port",
)


@lru_cache
def get_settings() -> Settings:
    return Settings()
