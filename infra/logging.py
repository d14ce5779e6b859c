"""Structured logging for every shopstream process (JSON lines, UTC timestamps).

Events go through the standard library's logging at their own level, so a worker's
log (where Faust formats every record) shows an info event as INFO and an error as
ERROR. Printed, they would reach Faust's redirected standard output, which logs
everything at WARNING.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import structlog

# aiokafka logs an ERROR for every failed connection attempt and every fetch or
# coordinator request it cannot send: with the broker down, thousands a minute from
# each process (40 MB of log in a few minutes of outage). The loggers that say so.
KAFKA_RETRY_LOGGERS = ("aiokafka", "aiokafka.consumer.fetcher",
                       "aiokafka.consumer.group_coordinator")
REPEATS_EVERY_S = 10.0


class Repeats(logging.Filter):
    """Lets each message (by its template) through once per `every_s`; the next one to
    pass says how many like it were held back meanwhile. The first error of an outage
    is logged at once, and the outage stays visible, without a line per retry."""

    def __init__(self, every_s: float = REPEATS_EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._every_s, self._clock = every_s, clock
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}  # -> (passed at, held)
        self._lock = threading.Lock()  # Faust's consumer logs from a thread of its own

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, record.msg), self._clock()
        with self._lock:
            passed_at, held = self._seen.get(key, (None, 0))
            if passed_at is not None and now - passed_at < self._every_s:
                self._seen[key] = (passed_at, held + 1)
                return False
            self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like this in the last " \
                         f"{now - passed_at:.0f} s)"
        return True


class OtherLibrariesLevelled(logging.Formatter):
    """Our events reach the standard library as JSON lines that carry their own level
    (structlog, below); another library's record (aiokafka's, say) gets its level and
    logger in front, so that its ERROR reads as one in a process without Faust's format.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if isinstance(record.msg, str) and record.msg.startswith("{"):
            return message
        return f"[{record.levelname}] {record.name}: {message}"


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OtherLibrariesLevelled("%(message)s"))
    logging.basicConfig(handlers=[handler], level=level)
    # One line per Elasticsearch or outbound HTTP request (several per projection batch)
    # is noise; so is a warning with a stack trace for each retry while Elasticsearch is
    # down, which the request that gives up logs once, as one line (`api/problems.py`).
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    repeats = Repeats()
    for name in KAFKA_RETRY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, Repeats) for f in logger.filters):
            logger.addFilter(repeats)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
