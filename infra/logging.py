"""Structured logging for every shopstream process (JSON lines, UTC timestamps).

Events go through the standard library's logging at their own level, so a worker's
log (where Faust formats every record) shows an info event as INFO and an error as
ERROR. Printed, they would reach Faust's redirected standard output, which logs
everything at WARNING.
"""

from __future__ import annotations

import logging

import structlog


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", level=level)
    # One line per Elasticsearch or outbound HTTP request (several per projection batch)
    # is noise; so is a warning with a stack trace for each retry while Elasticsearch is
    # down, which the request that gives up logs once, as one line (`api/problems.py`).
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)
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
