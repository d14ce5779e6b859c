"""The `shopstream` command: the local stack, the API and worker processes, operations.

This is the composition root: each command imports the layer it runs only when
it runs, so `shopstream stack ...` works before anything else is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="shopstream: an event-sourced shop back end.")
stack_app = typer.Typer(no_args_is_help=True, help="The local stack of real servers.")
app.add_typer(stack_app, name="stack")
schemas_app = typer.Typer(no_args_is_help=True,
                          help="JSON Schema snapshots of events and commands: the contract.")
app.add_typer(schemas_app, name="schemas")
console = Console()

PartsArg = Annotated[list[str] | None, typer.Argument(help="Parts to act on (default: all).")]


def _stack():
    from ops.stack.manager import Stack

    return Stack()


def _say(part, what: str) -> None:
    console.print(f"  [bold]{part.name:<14}[/bold] {what}")


@stack_app.command("up")
def stack_up(
    parts: PartsArg = None,
    servers_only: Annotated[bool, typer.Option(help="Only the servers, not the shop.")] = False,
    record: Annotated[Path | None, typer.Option(help="Append the parts started to FILE.")] = None,
    brokers: Annotated[int | None, typer.Option(help=(
        "Kafka brokers: 1, or 3 for a cluster (replication factor 3, min. in-sync replicas 2, "
        "two workers of each role). Kept by the stack for its later commands (default: what "
        "it was started with, else SHOPSTREAM_KAFKA_BROKERS, else 1)."))] = None,
) -> None:
    """Install what is missing, start what is not running, wait until healthy."""
    import os

    from infra.settings import default_stack_dir
    from ops.stack.manager import StackError, remember_brokers
    from ops.stack.installers import InstallError

    try:
        if brokers is not None:
            if brokers not in (1, 3):
                raise StackError("--brokers takes 1 or 3")
            remember_brokers(default_stack_dir(), brokers)
            os.environ["SHOPSTREAM_KAFKA_BROKERS"] = str(brokers)
        elif "SHOPSTREAM_KAFKA_BROKERS" in os.environ:
            remember_brokers(default_stack_dir(), int(os.environ["SHOPSTREAM_KAFKA_BROKERS"]))
        stack = _stack()
        stack.up(stack.select(parts, with_app=not servers_only), on_event=_say, record=record)
    except (StackError, InstallError) as error:
        console.print(f"[red]error:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(1) from None
    s = stack.settings
    if s.kafka_brokers > 1:
        console.print(f"  Kafka cluster of {s.kafka_brokers} brokers at {s.kafka_bootstrap}, "
                      f"replication factor {s.kafka_replication_factor}, min. in-sync replicas "
                      f"{s.kafka_min_insync_replicas}", highlight=False)
    console.print(f"[green]up[/green]: gateway {s.public_url}  docs {s.public_url}/docs  "
                  f"mail http://127.0.0.1:{s.mail_api_port}/api/v2/messages")


@stack_app.command("urls")
def stack_urls() -> None:
    """Where to reach the running shop."""
    from infra.settings import get_settings

    s = get_settings()
    for label, url in (("storefront", f"{s.public_url}/"), ("console", f"{s.public_url}/console/"),
                       ("gateway", s.public_url), ("API docs", f"{s.public_url}/docs"),
                       ("categories", f"{s.public_url}/v1/categories"),
                       ("search", f"{s.public_url}/v1/search?q=wireles+headphones"),
                       ("autocomplete", f"{s.public_url}/v1/search/suggest?q=head"),
                       ("mail sink", f"http://127.0.0.1:{s.mail_api_port}/api/v2/messages")):
        console.print(f"  {label:<13} {url}", highlight=False)


@stack_app.command("down")
def stack_down(
    parts: PartsArg = None,
    recorded: Annotated[Path | None, typer.Option(
        help="Stop only the parts listed in FILE (written by `up --record`), then delete it."
    )] = None,
    kill: Annotated[bool, typer.Option(help="SIGKILL instead of a clean stop.")] = False,
) -> None:
    """Stop parts of the stack (all by default), the shop's processes first."""
    stack = _stack()
    if recorded is not None:
        names = recorded.read_text().split() if recorded.exists() else []
        selected = stack.select(names) if names else []
    else:
        selected = stack.select(parts)
    stack.down(selected, kill=kill, on_event=_say)
    if recorded is not None:
        recorded.unlink(missing_ok=True)


@stack_app.command("status")
def stack_status(
    parts: PartsArg = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per part.")] = False,
) -> None:
    """Each part with its port, pid, health and restarts by the supervisor."""
    import dataclasses
    import json

    stack = _stack()
    statuses = stack.status(stack.select(parts))
    if as_json:
        print(json.dumps([dataclasses.asdict(status) for status in statuses], indent=1))
        return
    table = Table("part", "port", "pid", "state", "restarts")
    for status in statuses:
        state = ("[green]healthy[/green]" if status.healthy
                 else "[yellow]starting or unhealthy[/yellow]" if status.pid
                 else "[dim]stopped[/dim]")
        table.add_row(status.name, str(status.port or ""), str(status.pid or ""), state,
                      str(status.restarts))
    console.print(table)


@stack_app.command("supervise", hidden=True)
def stack_supervise() -> None:
    """Run the stack's supervisor (the part `supervisor` runs this)."""
    from infra.logging import configure_logging
    from ops.stack.supervisor import Supervisor

    configure_logging()
    Supervisor(_stack()).run()


@stack_app.command("logs")
def stack_logs(
    part: Annotated[str, typer.Argument(help="The part whose log to show.")],
    lines: Annotated[int, typer.Option("-n", help="How many lines from the end.")] = 50,
) -> None:
    """The end of a part's log."""
    from ops.stack import process

    stack = _stack()
    (selected,) = stack.select([part])
    console.print(process.log_tail(stack.files(selected), lines), markup=False,
                  highlight=False, end="")


@schemas_app.command("snapshot")
def schemas_snapshot(
    refresh: Annotated[bool, typer.Option(
        help="Also rewrite snapshots of messages that changed compatibly.")] = False,
) -> None:
    """Write the snapshot of each message version that has none; never over a breaking change."""
    from schemas.contract import SNAPSHOTS, write_snapshots

    written = write_snapshots(refresh=refresh)
    project = SNAPSHOTS.parents[1]
    for path in written:
        console.print(f"  wrote {escape(str(path.relative_to(project)))}", highlight=False)
    console.print(f"[green]{len(written)}[/green] snapshot(s) written")


@schemas_app.command("check")
def schemas_check() -> None:
    """Compare each message with its snapshot; exit 1 on a missing snapshot or a breaking change."""
    from schemas.contract import check_snapshots

    problems = check_snapshots()
    for problem in problems:
        console.print(f"  [red]x[/red] {escape(problem)}", highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    console.print("[green]ok[/green]: every message matches its snapshot")


@app.command()
def api(
    port: Annotated[int | None, typer.Option(help="Port (default: SHOPSTREAM_API_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
    service: Annotated[list[str] | None, typer.Option(
        help="Serve only this service's routes, besides the operations ones (repeatable; "
             "default: SHOPSTREAM_API_SERVICES, else all).")] = None,
) -> None:
    """Serve the HTTP API (one process; run several behind the gateway)."""
    import json
    import os

    import uvicorn

    from infra.logging import configure_logging
    from infra.settings import get_settings
    from ops.gateway import SERVER_TIMEOUT_S

    if service:
        from api.app import SERVICE_ROUTERS

        unknown = [s for s in service if s not in SERVICE_ROUTERS]
        if unknown:
            raise typer.BadParameter(f"unknown service(s) {', '.join(unknown)}; the services "
                                     f"are {', '.join(SERVICE_ROUTERS)}")
        # uvicorn builds the app from a factory string: hand the choice over as a setting.
        os.environ["SHOPSTREAM_API_SERVICES"] = json.dumps(service)
        get_settings.cache_clear()
    settings = get_settings()
    configure_logging()
    uvicorn.run("ops.bootstrap:api", factory=True, host=host or settings.api_host,
                port=port or settings.api_port, proxy_headers=True,
                forwarded_allow_ips=settings.api_forwarded_allow_ips, access_log=False,
                log_level="warning",
                # C parsers and a C event loop: HTTP parsing was a seventh of a replica's CPU.
                http="httptools", loop="uvloop",
                # Longer than the gateway keeps an idle connection to a replica, so the
                # gateway, not the replica, closes it: a replica closing it (after uvicorn's
                # default 5 s) could do so just as the gateway sent a request on it.
                timeout_keep_alive=SERVER_TIMEOUT_S + 5)


@app.command()
def web(
    port: Annotated[int | None, typer.Option(help="Port (default: SHOPSTREAM_WEB_PORT).")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
) -> None:
    """Serve the web pages: the storefront and the operator console."""
    import uvicorn

    from infra.logging import configure_logging
    from infra.settings import get_settings
    from ops.gateway import SERVER_TIMEOUT_S

    settings = get_settings()
    configure_logging()
    uvicorn.run("web.app:create_app", factory=True, host=host or settings.web_host,
                port=port or settings.web_port, proxy_headers=True,
                forwarded_allow_ips=settings.web_forwarded_allow_ips, access_log=False,
                log_level="warning", timeout_keep_alive=SERVER_TIMEOUT_S + 5)


@app.command()
def worker(
    role: Annotated[str, typer.Option(help="commands (the aggregates' single writers), "
                                           "projections (the read models), notifications "
                                           "(emails), sagas (checkout) or webhooks (deliveries to "
                                           "integrators).")] = "commands",
    service: Annotated[list[str] | None, typer.Option(
        help="Only this service's command processors (repeatable; default: all).")] = None,
    instance: Annotated[int, typer.Option(
        min=1, help="Which worker of the role this is on this machine (its web port).")] = 1,
) -> None:
    """Run the worker of one role."""
    import asyncio

    from infra.logging import configure_logging
    from infra.settings import get_settings
    from infra.topics import ensure_topics
    from schemas.topics import SERVICES
    from streams.system import ROLES

    if role not in ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(ROLES)}")
    unknown = [s for s in service or [] if s not in SERVICES]
    if unknown:
        raise typer.BadParameter(f"no worker for {', '.join(unknown)} yet; the services with "
                                 f"workers are {', '.join(SERVICES)}")
    settings = get_settings()
    configure_logging()
    asyncio.run(ensure_topics(settings))
    if role == "commands":
        from streams.command_processor import serve

        import uvloop

        port = settings.worker_web_port(ROLES.index(role), instance)
        uvloop.run(serve(settings, service, port, instance))
        return
    import faust  # the other roles are Faust apps
    import mode.loop

    from ops.bootstrap import bootstrap
    from streams.app import create_app

    mode.loop.use("uvloop")  # as the commands worker and the API run
    faust_app = create_app(settings, role, bootstrap, instance)  # type: ignore[arg-type]
    faust.Worker(faust_app, loglevel="info").execute_from_commandline()


def _run(work):
    """Run `work(container)` on a fresh event loop with the stack's clients and adapters
    (from the composition root), then close them."""
    import asyncio

    from infra.database import create_tables
    from ops.bootstrap import bootstrap

    async def run():
        container = bootstrap()
        try:
            await create_tables(container.clients.mysql)
            return await work(container)
        finally:
            await container.close()

    return asyncio.run(run())


@app.command()
def replay(
    projection: Annotated[str, typer.Argument(help="The projection to rebuild.")],
) -> None:
    """Rebuild a read model from offset 0 into a fresh table or index, then swap it in.

    Recorded like a replay asked for through the API (`GET /v1/admin/projections`), and
    refused while another replay of the same model is under way."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    from projections.registry import NAMES
    from projections.replays import ReplayInProgress, ReplayRequests
    from streams.replay import shadow_suffix
    from streams.replay_runner import carry_out, worker_name

    if projection not in NAMES:
        raise typer.BadParameter(f"known projections: {', '.join(NAMES)}")
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]:>8} events/s"), TimeRemainingColumn(),
                  console=console) as bar:
        task = bar.add_task(f"replaying {projection}", total=None, rate="")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[task].elapsed or 0
            bar.update(task, completed=done, total=total,
                       rate=f"{done / elapsed:,.0f}" if elapsed > 0 else "")

        async def work(container):
            requests = ReplayRequests(container.clients.mysql)
            row = await requests.start(projection, "command line", worker_name(),
                                       shadow_suffix())
            return await carry_out(container.clients, requests, row, progress)

        try:
            result = _run(work)
        except ReplayInProgress as busy:
            console.print(f"[red]error:[/red] {escape(str(busy))}; see GET /v1/admin/projections",
                          highlight=False)
            raise typer.Exit(1) from None
    console.print(f"{result.projection}: {result.events:,} events replayed in "
                  f"{result.seconds:.1f}s, {result.caught_up:,} caught up after the swap")


@app.command()
def projections() -> None:
    """Each projection with its position and lag."""
    from projections.positions import positions

    table = Table("projection", "topics", "offsets", "position", "lag")
    for found in _run(lambda container: positions(container.clients.settings,
                                                  container.clients.mysql)):
        table.add_row(found.name, ", ".join(found.topics), f"{found.offsets:,}",
                      f"{found.position:,}", f"{found.lag:,}")
    console.print(table)


audit_app = typer.Typer(no_args_is_help=True, help="The audit trail of every event.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Re-read every event topic and report any difference with the audit trail."""
    from streams.audit import AuditBehind, verify

    try:
        seen, differences = _run(lambda container: verify(container.clients))
    except AuditBehind as behind:
        console.print(f"[yellow]not checked[/yellow]: {escape(str(behind))}")
        raise typer.Exit(2) from None
    for difference in differences:
        console.print(f"[red]difference[/red] {escape(str(difference))}")
    if differences:
        console.print(f"{len(differences)} difference(s) in {seen:,} events")
        raise typer.Exit(1)
    console.print(f"ok: {seen:,} events, the audit trail matches Kafka")


def _print_trail(what: str, aggregate_id: str, query, payloads: bool) -> None:
    """The audit trail `query(audit projection)` reads, as a timeline: one line an event."""
    import json

    from projections.audit_views import AuditView

    events = _run(lambda container: query(AuditView(container.clients.mysql_reads)))
    if not events:
        console.print(f"[yellow]no events of {what} {escape(aggregate_id)}[/yellow]")
        raise typer.Exit(1)
    console.print(f"[bold]{what} {escape(aggregate_id)}[/bold]: {len(events)} events")
    for event in events:
        where = f"{event['topic'].removeprefix('shopstream.')}[{event['partition']}]@{event['offset']}"
        console.print(f"{event['occurred_at'].isoformat(sep=' ', timespec='milliseconds')}  "
                      f"[bold]{event['type']:<24}[/bold] {event['aggregate_id'][:8]}  "
                      f"{where:<26} by {escape(event['actor'] or '-')}", soft_wrap=True)
        if payloads:
            console.print("    " + escape(json.dumps(event["payload"], separators=(",", ":"))),
                          soft_wrap=True)


@audit_app.command("order")
def audit_order(
    order_id: Annotated[str, typer.Argument(help="The order's id.")],
    payloads: Annotated[bool, typer.Option(help="Print each event's payload too.")] = False,
) -> None:
    """Every event of an order, of its payment and of its checkout, as a timeline."""
    _print_trail("order", order_id, lambda audit: audit.order_trail(order_id), payloads)


@audit_app.command("payment")
def audit_payment(
    payment_id: Annotated[str, typer.Argument(help="The payment's id.")],
    payloads: Annotated[bool, typer.Option(help="Print each event's payload too.")] = False,
) -> None:
    """Every event of a payment and its receipt, as a timeline."""
    _print_trail("payment", payment_id, lambda audit: audit.payment_trail(payment_id),
                 payloads)


@app.command()
def forget(
    subject: Annotated[str, typer.Argument(help="The user id whose personal data to erase.")],
) -> None:
    """Erase a user's personal data: delete their key (crypto-shredding), scrub every read
    model that holds any (the profile, the orders' shipping addresses)."""
    from projections.registry import build_projections

    async def work(clients):
        had_key = await clients.keys.forget(subject)
        scrubbed = [await projection.forget(subject)
                    for projection in build_projections(clients).values()]
        return had_key, any(scrubbed)

    had_key, scrubbed = _run(lambda container: work(container.clients))
    if not (had_key or scrubbed):
        console.print(f"[yellow]nothing known about {escape(subject)}[/yellow]")
        raise typer.Exit(1)
    console.print(f"forgotten: {subject} (key deleted: {had_key}, read model scrubbed: {scrubbed})")


@app.command()
def seed(
    products: Annotated[int, typer.Option(min=0, max=10_000_000,
                                          help="How many demo products.")] = 1000,
    categories: Annotated[int | None, typer.Option(
        min=1, help="Only the first M categories of the demo tree (default: all).")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=2000,
                                             help="Commands in flight at once.")] = 256,
    shipping_only: Annotated[bool, typer.Option(
        help="Only the shipping zones (EU, United Kingdom, United States), no catalog.")
    ] = False,
) -> None:
    """Create the shipping zones and a demo catalog through the command path; running it
    again adds nothing."""
    from collections import Counter

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ops.seed import seed as run_seed
    from ops.seed import seed_shipping, shipping_zones
    from infra.topics import ensure_topics

    if shipping_only:
        outcomes: Counter = Counter()

        async def zones(container):
            await ensure_topics(container.settings)
            return await seed_shipping(container.clients, container.bus, outcomes)

        _run(zones)
        failed = outcomes["rejected"] + outcomes["timeout"]
        console.print(f"seed: {len(shipping_zones())} shipping zones: {outcomes['accepted']} "
                      f"created, {len(shipping_zones()) - outcomes['accepted'] - failed} "
                      f"already there, {failed} failed")
        if outcomes["rejected"] or outcomes["timeout"]:
            raise typer.Exit(1)
        return

    with Progress(TextColumn("[bold]seeding"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("seed", total=None)

        async def work(container):
            await ensure_topics(container.settings)
            return await run_seed(container.clients, container.bus, products, categories,
                                  concurrency, lambda done, total: bar.update(
                                      task, completed=done, total=total))

        result = _run(work)
    console.print(result.summary(), highlight=False, soft_wrap=True)
    if result.outcomes["rejected"] or result.outcomes["timeout"]:
        raise typer.Exit(1)


admin_app = typer.Typer(no_args_is_help=True, help="Administrators.")
app.add_typer(admin_app, name="admin")


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option(help="The administrator's email address.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True,
                                          help="Their password (prompted when absent).")],
    full_name: Annotated[str, typer.Option(help="Their name.")] = "Administrator",
) -> None:
    """Create an account with the admin role (409 if the address is taken)."""
    from pydantic import ValidationError

    from api.commands import Refused
    from api.registration import register
    from api.users import SignUp
    from infra.topics import ensure_topics

    try:
        form = SignUp(email=email, password=password, full_name=full_name)
    except ValidationError as error:
        console.print(f"[red]error:[/red] {escape(str(error.errors()[0]['msg']))}")
        raise typer.Exit(2) from None

    async def work(container) -> str:
        await ensure_topics(container.settings)
        user_id = await register(container.bus, container.clients.keys, container.settings,
                                 form, roles=["admin", "customer"], idempotency_key=None,
                                 actor="cli")
        return str(user_id)

    try:
        user_id = _run(work)
    except Refused as refusal:
        console.print(f"[red]error:[/red] {escape(refusal.detail)}")
        raise typer.Exit(1) from None
    console.print(f"admin {user_id} created for {email}")


gateway_app = typer.Typer(no_args_is_help=True,
                          help="The gateways' configurations, generated from ops/routes.py.")
app.add_typer(gateway_app, name="gateway")


@gateway_app.command("haproxy")
def gateway_haproxy() -> None:
    """Print the local gateway's HAProxy configuration."""
    from ops.gateway import haproxy_config
    from infra.settings import get_settings

    print(haproxy_config(get_settings()), end="")


@gateway_app.command("kong")
def gateway_kong(
    output: Annotated[Path | None, typer.Option(help="Write to FILE (default: print).")] = None,
    with_credentials: Annotated[bool, typer.Option(
        help="Add the JWT keys that verify access tokens, from SHOPSTREAM_JWT_SIGNING_KEYS "
             "(their public halves); for deploying, not for committing.")] = False,
    redis_host: Annotated[str, typer.Option(help="Redis for the rate limits.")] = "redis",
    redis_port: Annotated[int, typer.Option(help="Its port.")] = 6379,
    cors_origin: Annotated[list[str] | None, typer.Option(
        help="An origin allowed by CORS (repeatable; default: any).")] = None,
) -> None:
    """Kong's declarative configuration (kong.yml) for production."""
    from ops.kong import jwt_credentials, kong_config, render
    from ops.routes import RateLimit
    from infra.settings import get_settings

    settings = get_settings()
    credentials = None
    if with_credentials:
        credentials = jwt_credentials(settings.jwt_signing_keys.get_secret_value())
        if not credentials:
            raise typer.BadParameter("SHOPSTREAM_JWT_SIGNING_KEYS is empty")
    text = render(kong_config(
        RateLimit(settings.gateway_rate_limit, settings.gateway_rate_window_s),
        redis_host=redis_host, redis_port=redis_port,
        cors_origins=tuple(cors_origin or ("*",)), credentials=credentials))
    if output is None:
        print(text, end="")
    else:
        output.write_text(text)


if __name__ == "__main__":
    app()
