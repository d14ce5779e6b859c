"""Which outside server an error says is unavailable: the one mapping from the client
libraries' connection and timeout errors to `DependencyUnavailable`.

The API answers such an error with 503 and `Retry-After` (`api/problems.py`); any
other error of the same libraries (a bad query, a refused record) stays a bug.
"""

from __future__ import annotations

from collections.abc import Callable

import elastic_transport
import pymongo.errors
import redis.exceptions
import sqlalchemy.exc
from aiokafka.errors import CommitFailedError, KafkaError, KafkaTimeoutError


class DependencyUnavailable(Exception):
    """A server the request needs is unreachable or not answering; retrying later may work."""

    def __init__(self, dependency: str, reason: str = "") -> None:
        super().__init__(f"{dependency} is unavailable{f': {reason}' if reason else ''}")
        self.dependency = dependency


def _always(error: Exception) -> bool:
    return True


def _kafka_retriable(error: Exception) -> bool:
    # aiokafka marks connection, leadership and broker-timeout errors retriable; a
    # producer's own timeout (metadata not fetched, batch expired) is not, but is one too,
    # and so is an offset commit refused because the group rebalanced meanwhile (a member
    # that missed its heartbeats rejoins and reads on from the last commit).
    return (bool(getattr(error, "retriable", False))
            or isinstance(error, (KafkaTimeoutError, CommitFailedError)))


def _elasticsearch_unavailable(error: Exception) -> bool:
    # Answered, but not served: shards not yet recovered after a restart, or overloaded.
    return getattr(getattr(error, "meta", None), "status", None) in (502, 503, 504)


# client error type -> (the dependency it names, whether this error means "unavailable")
_ERRORS: dict[type[Exception], tuple[str, Callable[[Exception], bool]]] = {
    KafkaError: ("Kafka", _kafka_retriable),
    # The driver's errors of the connection and the server, and a pool with no free connection.
    sqlalchemy.exc.OperationalError: ("MySQL", _always),
    sqlalchemy.exc.InterfaceError: ("MySQL", _always),
    sqlalchemy.exc.TimeoutError: ("MySQL", _always),
    pymongo.errors.ConnectionFailure: ("MongoDB", _always),
    redis.exceptions.ConnectionError: ("Redis", _always),
    redis.exceptions.TimeoutError: ("Redis", _always),
    elastic_transport.ConnectionError: ("Elasticsearch", _always),
    elastic_transport.ConnectionTimeout: ("Elasticsearch", _always),
    elastic_transport.ApiError: ("Elasticsearch", _elasticsearch_unavailable),
}

# The client error types some of whose errors mean a dependency is unavailable.
CLIENT_ERRORS: tuple[type[Exception], ...] = tuple(_ERRORS)


def unavailable(error: BaseException) -> DependencyUnavailable | None:
    """`error` as `DependencyUnavailable` if it says a dependency is unavailable, else None."""
    if isinstance(error, DependencyUnavailable):
        return error
    for kind in type(error).__mro__:
        if kind in _ERRORS:
            dependency, means_unavailable = _ERRORS[kind]
            if means_unavailable(error):  # type: ignore[arg-type]
                return DependencyUnavailable(dependency, f"{type(error).__name__}: {error}")
            return None
    return None


def log_failure(log, event: str, error: BaseException, **about) -> None:
    """Log work that failed and will be tried again: a dependency's outage as a warning
    naming it (nothing to fix), anything else as an error with its trace (a bug)."""
    if (outage := unavailable(error)) is not None:
        log.warning(event, error=str(outage), **about)
    else:
        log.error(event, exc_info=error, **about)
