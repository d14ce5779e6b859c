"""The development mail sink: an SMTP server that keeps every message it receives.

Messages are stored as `.eml` files, each beside a `.json` file holding it in the
shape the API serves (parsing an email costs milliseconds; a start reads only the
JSON), so they survive a restart, and are served over
HTTP in MailHog's API shape (`/api/v2/messages`, `/api/v2/search?kind=to|from|
containing&query=`, `DELETE /api/v1/messages`), which the docs and tests use.
Run as `python -m ops.stack.mailsink`.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from aiohttp import web
from aiosmtpd.controller import Controller


class Mailbox:
    """Messages kept as files (they survive a restart) and, parsed, in memory: a search
    must not read the whole folder again while a test polls it.

    Only the newest `KEPT` are kept: a sink that has taken every email of many
    benchmark runs would otherwise take minutes to start and scan them all at each
    search. Older ones are deleted when it starts.
    """

    KEPT = 2_000

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._items: list[dict] = []  # oldest first
        paths = sorted(folder.glob("*.eml"))  # names begin with the time received
        for old in paths[:-self.KEPT]:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
        for path in paths[-self.KEPT:]:
            try:
                stored = json.loads(path.with_suffix(".json").read_text())
                if "ID" not in stored:  # from a sink that kept only the envelope beside it
                    stored = _mailhog_item(path.stem, stored, path.read_bytes())
                    path.with_suffix(".json").write_text(json.dumps(stored))
                self._items.append(stored)
            except (FileNotFoundError, json.JSONDecodeError):
                continue

    def store(self, envelope_from: str, envelope_to: list[str], data: bytes) -> str:
        received = datetime.now(UTC)
        message_id = f"{received:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        meta = {"from": envelope_from, "to": envelope_to, "created": received.isoformat()}
        item = _mailhog_item(message_id, meta, data)
        (self.folder / f"{message_id}.json").write_text(json.dumps(item))
        (self.folder / f"{message_id}.eml").write_bytes(data)
        self._items.append(item)
        if len(self._items) > 2 * self.KEPT:
            del self._items[:-self.KEPT]  # files stay until the next start
        return message_id

    def all(self) -> list[dict]:
        """Every message, newest first, in MailHog's JSON shape."""
        return self._items[::-1]

    def clear(self) -> None:
        for path in self.folder.iterdir():
            path.unlink(missing_ok=True)
        self._items = []


def _address(text: str) -> dict:
    mailbox, _, domain = text.strip("<> ").partition("@")
    return {"Relays": None, "Mailbox": mailbox, "Domain": domain, "Params": ""}


def _mailhog_item(message_id: str, meta: dict, data: bytes) -> dict:
    parsed: EmailMessage = email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[assignment]
    headers: dict[str, list[str]] = {}
    for key, value in parsed.items():
        headers.setdefault(key, []).append(str(value))
    parts = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        parts.append({
            "Headers": {"Content-Type": [part.get_content_type()]},
            "Body": part.get_content(),
            "Size": len(part.as_bytes()),
        })
    raw = data.decode("utf-8", errors="replace")
    return {
        "ID": message_id,
        "From": _address(meta["from"]),
        "To": [_address(to) for to in meta["to"]],
        "Content": {"Headers": headers, "Body": raw.split("\n\n", 1)[-1], "Size": len(data),
                    "MIME": None},
        "Created": meta["created"],
        "MIME": {"Parts": parts} if parsed.is_multipart() else None,
        "Raw": {"From": meta["from"], "To": meta["to"], "Data": raw, "Helo": ""},
    }


def _matches(item: dict, kind: str, query: str) -> bool:
    query = query.lower()
    if kind == "to":
        return any(query in to.lower() for to in item["Raw"]["To"]) or any(
            query in h.lower() for h in item["Content"]["Headers"].get("To", []))
    if kind == "from":
        return query in item["Raw"]["From"].lower()
    return query in item["Raw"]["Data"].lower()


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.mailbox.store(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        return "250 Message accepted for delivery"


def _page(items: list[dict], request: web.Request) -> web.Response:
    start = int(request.query.get("start", 0))
    limit = int(request.query.get("limit", 50))
    window = items[start:start + limit]
    return web.json_response({"total": len(items), "count": len(window), "start": start,
                              "items": window})


def http_app(mailbox: Mailbox) -> web.Application:
    async def messages(request: web.Request) -> web.Response:
        return _page(mailbox.all(), request)

    async def search(request: web.Request) -> web.Response:
        kind = request.query.get("kind", "containing")
        if kind not in ("to", "from", "containing"):
            raise web.HTTPBadRequest(text="kind must be to, from or containing")
        query = request.query.get("query", "")
        return _page([m for m in mailbox.all() if _matches(m, kind, query)], request)

    async def delete_all(request: web.Request) -> web.Response:
        mailbox.clear()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/api/v2/messages", messages)
    app.router.add_get("/api/v2/search", search)
    app.router.add_delete("/api/v1/messages", delete_all)
    return app


async def serve(smtp_port: int, http_port: int, folder: Path) -> None:
    mailbox = Mailbox(folder)
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=smtp_port)
    controller.start()
    runner = web.AppRunner(http_app(mailbox))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.smtp_port, args.http_port, args.folder))


if __name__ == "__main__":
    main()
