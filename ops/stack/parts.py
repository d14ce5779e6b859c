"""The parts of the local stack: how each is installed, prepared, started and checked.

Servers (Kafka, MariaDB, PostgreSQL and FerretDB on it, Redis, Elasticsearch,
the mail sink, stripe-mock, the OpenID Connect provider) come first; the shop's own processes
(the supervisor, the workers, the API replicas, the web pages) and the HAProxy gateway in
front of them follow. Every
part listens on loopback only and keeps its data under the stack folder.
"""

from __future__ import annotations

import base64
import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import httpx

from infra.settings import Settings
from ops.stack import installers, supervisor

STACK_FILES = Path(__file__).resolve().parent

KAFKA_VERSION = "3.9.1"
ELASTICSEARCH_VERSION = "8.14.3"
FERRETDB_VERSION = "v1.24.2"
STRIPE_MOCK_VERSION = "v0.203.0"
MOCK_OAUTH2_SERVER_VERSION = "6.0.2"


@dataclass
class Context:
    settings: Settings

    @property
    def stack_dir(self) -> Path:
        return self.settings.stack_dir.resolve()

    @property
    def cache_dir(self) -> Path:
        return self.settings.cache_dir

    def data(self, part: str) -> Path:
        path = self.stack_dir / "data" / part
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Part:
    """One process of the stack. Subclasses fill in the four steps."""

    name: ClassVar[str]
    group: ClassVar[str] = "server"
    startup_timeout_s: ClassVar[float] = 60.0
    port_setting: ClassVar[str | None] = None
    # Parts that must be healthy (and set up) before this one starts.
    needs: ClassVar[tuple[str, ...]] = ()
    env: dict[str, str] = field(default_factory=dict)

    def port(self, ctx: Context) -> int | None:
        return getattr(ctx.settings, self.port_setting) if self.port_setting else None

    def install(self, ctx: Context) -> None:
        """Fetch or build what the part runs; nothing when already there."""

    def prepare(self, ctx: Context) -> None:
        """First-run setup of the data folder and config files."""

    def command(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def healthy(self, ctx: Context) -> bool:
        port = self.port(ctx)
        return port is not None and tcp_open(port)

    def after_start(self, ctx: Context) -> None:
        """Work that needs the running server (users, databases); idempotent."""


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str, **kwargs) -> bool:
    try:
        return httpx.get(url, timeout=2.0, **kwargs).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class Kafka(Part):
    """One KRaft node, broker and controller at once: `kafka` alone, or `kafka`,
    `kafka-2` and `kafka-3` of a cluster (`kafka_brokers`), each its own controller
    quorum voter. A cluster's nodes share one cluster id, made once for the stack."""

    # A node started again after kill -9 first recovers every partition's log; on a busy
    # machine with a cluster's ~200 partitions that took over 90 s.
    startup_timeout_s: ClassVar[float] = 300.0
    node: int = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return "kafka" if self.node == 1 else f"kafka-{self.node}"

    def port(self, ctx: Context) -> int:
        return ctx.settings.kafka_broker_ports[self.node - 1]

    def home(self, ctx: Context) -> Path:
        return ctx.data(self.name)

    def libs(self, ctx: Context) -> Path:
        return ctx.cache_dir / f"kafka-{KAFKA_VERSION}"

    def install(self, ctx: Context) -> None:
        installers.maven_libraries(STACK_FILES / "kafka" / "pom.xml", self.libs(ctx))
        # kcat is how a developer reads the topics from outside the code.
        installers.debian_packages({"kcat": "kcat"})

    def prepare(self, ctx: Context) -> None:
        home = self.home(ctx)
        s = ctx.settings
        voters = ",".join(f"{n}@127.0.0.1:{port}"
                          for n, port in enumerate(s.kafka_controller_ports, start=1))
        controller_port = s.kafka_controller_ports[self.node - 1]
        (home / "server.properties").write_text(
            "\n".join([
                "process.roles=broker,controller",
                f"node.id={self.node}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port(ctx)},"
                f"CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port(ctx)}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={home / 'log'}",
                # The internal topics (consumer offsets, transaction state, Faust's own) are
                # replicated like shopstream's: 1 and 1 on one broker, 3 and 2 on a cluster.
                f"offsets.topic.replication.factor={s.kafka_replication_factor}",
                f"transaction.state.log.replication.factor={s.kafka_replication_factor}",
                f"transaction.state.log.min.isr={s.kafka_min_insync_replicas}",
                # Their segments roll at 16 MiB rather than 100, so the log cleaner compacts
                # them within hours: a coordinator reloads a partition in full when it moves.
                "offsets.topic.segment.bytes=16777216",
                "transaction.state.log.segment.bytes=16777216",
                f"default.replication.factor={s.kafka_replication_factor}",
                f"min.insync.replicas={s.kafka_min_insync_replicas}",
                "group.initial.rebalance.delay.ms=0",
                # Topics are created by shopstream with explicit settings, never by accident.
                "auto.create.topics.enable=false",
                f"num.partitions={s.kafka_partitions}",
                "",
            ])
        )
        (home / "log4j.properties").write_text(
            "\n".join([
                # To standard output, like every part: the stack's log writer caps it.
                "log4j.rootLogger=INFO, stdout",
                "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
                "log4j.appender.stdout.Target=System.out",
                "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
                "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
                "log4j.logger.kafka=INFO",
                "log4j.logger.org.apache.kafka=INFO",
                "",
            ])
        )
        if not (home / "log" / "meta.properties").exists():
            installers.run_checked(
                ["java", *self._log_flags(home), "-cp", f"{self.libs(ctx)}/*",
                 "kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id(ctx)}",
                 "-c", str(home / "server.properties")],
                what=f"the storage format of {self.name}",
            )

    @staticmethod
    def cluster_id(ctx: Context) -> str:
        """The stack's Kafka cluster id, the same for every node: made once, then kept."""
        kept = ctx.data("kafka") / "cluster-id"
        if not kept.exists():
            kept.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
        return kept.read_text().strip()

    def _log_flags(self, home: Path) -> list[str]:
        return [f"-Dlog4j.configuration=file:{home / 'log4j.properties'}"]

    def command(self, ctx: Context) -> list[str]:
        home = self.home(ctx)
        return ["java", "-Xms512m", "-Xmx512m", "-XX:+UseG1GC", *self._log_flags(home),
                "-cp", f"{self.libs(ctx)}/*", "kafka.Kafka", str(home / "server.properties")]

    def healthy(self, ctx: Context) -> bool:
        port = self.port(ctx)
        if not tcp_open(port):
            return False
        # The node accepts connections before it can serve metadata, and a cluster's node
        # serves it only once the quorum has a leader and has registered the node.
        from aiokafka.admin import AIOKafkaAdminClient
        import asyncio

        async def registered() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=f"127.0.0.1:{port}",
                                        request_timeout_ms=2000)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                return any(broker["node_id"] == self.node for broker in cluster["brokers"])
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(registered())


class MariaDB(Part):
    name = "mysql"
    port_setting = "mysql_port"

    def install(self, ctx: Context) -> None:
        installers.debian_packages({"mariadbd": "mariadb-server", "mariadb": "mariadb-client"})

    def socket(self, ctx: Context) -> Path:
        return ctx.data("mysql") / "mysqld.sock"

    def prepare(self, ctx: Context) -> None:
        datadir = ctx.data("mysql") / "db"
        if (datadir / "mysql").exists():
            return
        datadir.mkdir(parents=True, exist_ok=True)
        installers.run_checked(
            [installers.find_executable("mariadb-install-db") or "mariadb-install-db",
             "--no-defaults", f"--datadir={datadir}", f"--user={getpass.getuser()}",
             "--auth-root-authentication-method=socket",
             f"--auth-root-socket-user={getpass.getuser()}", "--skip-test-db"],
            what="the MariaDB data folder",
        )

    def command(self, ctx: Context) -> list[str]:
        home = ctx.data("mysql")
        command = [
            installers.find_executable("mariadbd") or "mariadbd", "--no-defaults",
            f"--datadir={home / 'db'}", f"--socket={self.socket(ctx)}",
            f"--pid-file={home / 'mariadb.pid'}", f"--port={ctx.settings.mysql_port}",
            "--bind-address=127.0.0.1", "--innodb-buffer-pool-size=256M",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
            "--default-time-zone=+00:00", "--max-connections=500",
        ]
        if os.geteuid() == 0:
            command.append("--user=root")
        return command

    def _root(self, ctx: Context):
        import pymysql

        return pymysql.connect(unix_socket=str(self.socket(ctx)), user=getpass.getuser(),
                               connect_timeout=2, autocommit=True)

    def healthy(self, ctx: Context) -> bool:
        try:
            with self._root(ctx) as connection, connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return True
        except Exception:
            return False

    def after_start(self, ctx: Context) -> None:
        s = ctx.settings
        password = s.mysql_password.get_secret_value()
        with self._root(ctx) as connection, connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{s.mysql_database}`")
            for host in ("127.0.0.1", "localhost"):
                cursor.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
                               (s.mysql_user, host, password))
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (s.mysql_user, host, password))
                cursor.execute(f"GRANT ALL ON `{s.mysql_database}`.* TO %s@%s", (s.mysql_user, host))


class PostgreSQL(Part):
    """PostgreSQL from Debian, only as the storage of the local FerretDB.

    Its cluster is `<stack>/data/postgresql/db`, made by `initdb`. It listens on
    loopback, where FerretDB signs in as `postgresql_user` with the generated
    password, and on a Unix socket in the cluster folder, where the stack sets
    it up as the server's own system user (peer authentication, no password).
    PostgreSQL refuses to run as root: as root, it runs as Debian's `postgres`.
    """

    name = "postgresql"
    port_setting = "postgresql_port"
    server_user: ClassVar[str] = "postgres"  # created by the Debian package

    def install(self, ctx: Context) -> None:
        # psql and pg_isready come with it (postgresql-client).
        installers.debian_packages({"initdb": "postgresql"})

    def cluster(self, ctx: Context) -> Path:
        return ctx.data("postgresql") / "db"

    def as_server_user(self, command: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return command
        return ["setpriv", f"--reuid={self.server_user}", f"--regid={self.server_user}",
                "--init-groups", "--", *command]

    def prepare(self, ctx: Context) -> None:
        cluster = self.cluster(ctx)
        if (cluster / "PG_VERSION").exists():
            return
        cluster.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(cluster, user=self.server_user, group=self.server_user)
        installers.run_checked(
            self.as_server_user([_executable("initdb"), f"--pgdata={cluster}", "--encoding=UTF8",
                                 "--no-locale", "--auth-local=peer",
                                 "--auth-host=scram-sha-256"]),
            what="the PostgreSQL data folder",
        )

    def command(self, ctx: Context) -> list[str]:
        cluster = self.cluster(ctx)
        settings = {"listen_addresses": "127.0.0.1", "port": str(self.port(ctx)),
                    "unix_socket_directories": str(cluster),
                    # To standard error, like every part: the stack's log writer caps it.
                    "logging_collector": "off", "log_destination": "stderr",
                    # A statement's error goes back to FerretDB, which answers with it (a
                    # duplicate _id is a DuplicateKeyError the projections expect). The log
                    # keeps the server's own: start, stop, checkpoints, failures (LOG and up,
                    # in the order of this setting, where ERROR ranks below LOG).
                    "log_min_messages": "log"}
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        return self.as_server_user([_executable("postgres"), "-D", str(cluster), *options])

    def healthy(self, ctx: Context) -> bool:
        # A connection tried while it starts up is a FATAL line in its log; its pid file's
        # status line says "ready" once it accepts them.
        try:
            status = (self.cluster(ctx) / "postmaster.pid").read_text().splitlines()[7:8]
        except FileNotFoundError:
            return False
        if [line.strip() for line in status] != ["ready"]:
            return False
        ready = subprocess.run([_executable("pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(self.port(ctx))], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=5)
        return ready.returncode == 0

    def after_start(self, ctx: Context) -> None:
        s = ctx.settings
        self.psql(ctx, "postgres", "the PostgreSQL role and database of FerretDB", input=f"""
SELECT format('CREATE ROLE %I LOGIN', {_literal(s.postgresql_user)})
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {_literal(s.postgresql_user)})
\\gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', {_literal(s.postgresql_user)},
              {_literal(s.postgresql_password.get_secret_value())})
\\gexec
SELECT format('CREATE DATABASE %I OWNER %I', {_literal(s.postgresql_database)},
              {_literal(s.postgresql_user)})
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = {_literal(s.postgresql_database)})
\\gexec
""")
        self.psql(ctx, s.postgresql_database, "FerretDB's index on _id",
                  "--single-transaction",
                  f"--file={STACK_FILES / 'postgresql' / 'ferretdb_tuning.sql'}")

    def psql(self, ctx: Context, database: str, what: str, *args: str, input: str | None = None
             ) -> None:
        """Run psql as the server's superuser, over the cluster's socket."""
        installers.run_checked(
            self.as_server_user([_executable("psql"), "--no-psqlrc", "--quiet",
                                 "--set=ON_ERROR_STOP=1", f"--host={self.cluster(ctx)}",
                                 f"--port={self.port(ctx)}", f"--dbname={database}", *args]),
            what=what, input=input,
        )


def _executable(name: str) -> str:
    return installers.find_executable(name) or name


def _literal(text: str) -> str:
    """`text` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


class FerretDB(Part):
    name = "mongodb"
    port_setting = "mongodb_port"
    needs = ("postgresql",)

    def binary(self, ctx: Context) -> Path:
        return ctx.cache_dir / "bin" / f"ferretdb-{FERRETDB_VERSION}"

    def install(self, ctx: Context) -> None:
        installers.go_binary(
            "github.com/FerretDB/FerretDB", FERRETDB_VERSION, "ferretdb", ctx.cache_dir / "bin",
            package="./cmd/ferretdb",
            # FerretDB's release build stamps its version; a plain build panics without it.
            extra_files={"build/version/version.txt": FERRETDB_VERSION + "\n"},
        )

    def prepare(self, ctx: Context) -> None:
        # Through the environment: the command line is in the log and in `ps`.
        self.env["FERRETDB_POSTGRESQL_URL"] = ctx.settings.postgresql_url

    def command(self, ctx: Context) -> list[str]:
        return [str(self.binary(ctx)), "--handler=postgresql", f"--state-dir={ctx.data('mongodb')}",
                f"--listen-addr=127.0.0.1:{ctx.settings.mongodb_port}", "--debug-addr=-",
                "--telemetry=disable", "--log-level=warn"]

    def healthy(self, ctx: Context) -> bool:
        from pymongo import MongoClient

        try:
            with MongoClient(ctx.settings.mongodb_url, serverSelectionTimeoutMS=1000) as client:
                client.admin.command("ping")
                return True
        except Exception:
            return False


class Redis(Part):
    name = "redis"
    port_setting = "redis_port"

    def install(self, ctx: Context) -> None:
        installers.debian_packages({"redis-server": "redis-server", "redis-cli": "redis-tools"})

    def command(self, ctx: Context) -> list[str]:
        return [installers.find_executable("redis-server") or "redis-server",
                "--port", str(ctx.settings.redis_port), "--bind", "127.0.0.1",
                "--dir", str(ctx.data("redis")), "--appendonly", "yes", "--save", "",
                "--daemonize", "no", "--maxmemory", "1gb", "--maxmemory-policy", "noeviction"]

    def healthy(self, ctx: Context) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(ctx.settings.redis_url, socket_timeout=1).ping())
        except Exception:
            return False


class Elasticsearch(Part):
    name = "elasticsearch"
    port_setting = "elasticsearch_port"
    startup_timeout_s = 120.0

    def libs(self, ctx: Context) -> Path:
        return ctx.cache_dir / f"elasticsearch-{ELASTICSEARCH_VERSION}"

    def install(self, ctx: Context) -> None:
        installers.maven_package(STACK_FILES / "elasticsearch" / "pom.xml", self.libs(ctx))

    def command(self, ctx: Context) -> list[str]:
        return ["java", "-Xms1g", "-Xmx1g", "-XX:+UseG1GC", "-cp", f"{self.libs(ctx)}/*",
                "shopstream.es.Runner", str(ctx.data("elasticsearch")),
                str(ctx.settings.elasticsearch_port),
                "--transport-port", str(ctx.settings.elasticsearch_transport_port)]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"{ctx.settings.elasticsearch_url}/_cluster/health"
                       "?wait_for_status=yellow&timeout=1s")


class MailSink(Part):
    name = "mailsink"
    port_setting = "mail_api_port"

    def command(self, ctx: Context) -> list[str]:
        s = ctx.settings
        return [sys.executable, "-m", "ops.stack.mailsink", "--smtp-port", str(s.smtp_port),
                "--http-port", str(s.mail_api_port), "--folder", str(ctx.data("mailsink"))]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{ctx.settings.mail_api_port}/api/v2/messages?limit=1")


class StripeMock(Part):
    name = "stripe-mock"
    port_setting = "stripe_mock_port"

    def binary(self, ctx: Context) -> Path:
        return ctx.cache_dir / "bin" / f"stripe-mock-{STRIPE_MOCK_VERSION}"

    def install(self, ctx: Context) -> None:
        installers.go_binary("github.com/stripe/stripe-mock", STRIPE_MOCK_VERSION, "stripe-mock",
                             ctx.cache_dir / "bin")

    def command(self, ctx: Context) -> list[str]:
        port = ctx.settings.stripe_mock_port
        # It serves HTTPS too, by default on all addresses at 12112: keep that on loopback.
        return [str(self.binary(ctx)), "-http-addr", f"127.0.0.1:{port}",
                "-https-addr", f"127.0.0.1:{port + 1}"]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{ctx.settings.stripe_mock_port}/v1/customers",
                       headers={"Authorization": "Bearer sk_test_123"})


class OidcServer(Part):
    """An OpenID Connect provider for social login: navikt's mock-oauth2-server.

    It serves any issuer under its root; shopstream's local provider is
    `http://127.0.0.1:<oidc_port>/local`. Its sign-in is interactive: the
    authorization endpoint shows a form, and a POST of that form (`username`,
    the ID token's `sub`, and `claims`, a JSON object such as `{"email": ...,
    "email_verified": true, "name": ...}`) answers with the redirect back to the
    client. So a person in a browser, or a test over HTTP, chooses who signs in.
    """

    name = "oidc"
    port_setting = "oidc_port"
    issuer_id: ClassVar[str] = "local"

    def libs(self, ctx: Context) -> Path:
        return ctx.cache_dir / f"mock-oauth2-server-{MOCK_OAUTH2_SERVER_VERSION}"

    def install(self, ctx: Context) -> None:
        installers.maven_libraries(STACK_FILES / "oidc" / "pom.xml", self.libs(ctx))

    def prepare(self, ctx: Context) -> None:
        config = ctx.data("oidc") / "config.json"
        config.write_text(json.dumps({"interactiveLogin": True, "httpServer": "NettyWrapper"},
                                     indent=2) + "\n")
        # The server reads its settings from the environment only.
        self.env.update({"SERVER_HOSTNAME": "127.0.0.1", "SERVER_PORT": str(self.port(ctx)),
                         "JSON_CONFIG_PATH": str(config)})

    def command(self, ctx: Context) -> list[str]:
        return ["java", "-Xms64m", "-Xmx256m", "-cp", f"{self.libs(ctx)}/*",
                "no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt"]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port(ctx)}/{self.issuer_id}"
                       "/.well-known/openid-configuration")


class Supervisor(Part):
    """Restarts any other part that dies (`ops.stack.supervisor`); the first of the shop's
    processes, so it watches the rest from their start."""

    name = supervisor.NAME
    group = "app"

    def command(self, ctx: Context) -> list[str]:
        return [sys.executable, "-m", "ops.cli", "stack", "supervise"]

    def healthy(self, ctx: Context) -> bool:
        return supervisor.heartbeat_fresh(ctx.stack_dir)


@dataclass
class Worker(Part):
    """A worker of one role: `worker-<role>`, and `worker-<role>-2` where two run."""

    group: ClassVar[str] = "app"
    role: str = "commands"
    instance: int = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"worker-{self.role}" + ("" if self.instance == 1 else f"-{self.instance}")

    def port(self, ctx: Context) -> int:
        from streams.system import ROLES

        return ctx.settings.worker_web_port(ROLES.index(self.role), self.instance)

    def command(self, ctx: Context) -> list[str]:
        return [sys.executable, "-m", "ops.cli", "worker", "--role", self.role,
                "--instance", str(self.instance)]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port(ctx)}/healthz")


@dataclass
class Api(Part):
    group: ClassVar[str] = "app"
    replica: int = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"api-{self.replica}"

    def port(self, ctx: Context) -> int:
        return ctx.settings.api_replica_ports[self.replica - 1]

    def command(self, ctx: Context) -> list[str]:
        return [sys.executable, "-m", "ops.cli", "api", "--port", str(self.port(ctx))]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{self.port(ctx)}/healthz")


class Web(Part):
    """The web pages (storefront and console): a client of the API replicas."""

    name = "web"
    group = "app"
    port_setting = "web_port"

    def install(self, ctx: Context) -> None:
        # The browser tests' Chromium and its WebDriver (tests/browser/).
        installers.debian_packages({"chromium": "chromium", "chromedriver": "chromium-driver"})

    def command(self, ctx: Context) -> list[str]:
        return [sys.executable, "-m", "ops.cli", "web"]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{ctx.settings.web_port}/healthz")


class Gateway(Part):
    name = "gateway"
    group = "app"
    port_setting = "gateway_port"

    def install(self, ctx: Context) -> None:
        # deck checks the production gateway's kong.yml offline (tests/unit/test_gateway_config.py).
        installers.debian_packages({"haproxy": "haproxy", "deck": "deck"})

    def config_file(self, ctx: Context) -> Path:
        return ctx.data("gateway") / "haproxy.cfg"

    def prepare(self, ctx: Context) -> None:
        from ops.gateway import haproxy_config

        self.config_file(ctx).write_text(haproxy_config(ctx.settings))
        installers.run_checked([installers.find_executable("haproxy") or "haproxy", "-c", "-q",
                                "-f", str(self.config_file(ctx))],
                               what="the generated HAProxy configuration")

    def command(self, ctx: Context) -> list[str]:
        return [installers.find_executable("haproxy") or "haproxy", "-db", "-f",
                str(self.config_file(ctx))]

    def healthy(self, ctx: Context) -> bool:
        return http_ok(f"http://127.0.0.1:{ctx.settings.gateway_port}/healthz")


def all_parts(settings: Settings) -> list[Part]:
    """Every part in start order: servers, then the shop, then the gateway.

    The Kafka nodes (`kafka_brokers`) and the workers of each role (`workers_per_role`)
    come from settings: one of each by default, three nodes and two workers a role on a
    cluster."""
    from streams.system import ROLES

    brokers = [Kafka(node=n) for n in range(1, settings.kafka_brokers + 1)]
    workers = [Worker(role=role, instance=n) for n in range(1, settings.workers_per_role + 1)
               for role in ROLES]
    replicas = [Api(replica=n) for n in range(1, len(settings.api_replica_ports) + 1)]
    return [*brokers, MariaDB(), PostgreSQL(), FerretDB(), Redis(), Elasticsearch(), MailSink(),
            StripeMock(), OidcServer(), Supervisor(), *workers, *replicas, Web(), Gateway()]
