"""Which client library errors say a server is unavailable (503), and which stay bugs (500)."""

from __future__ import annotations

import elastic_transport
import elasticsearch
import pymongo.errors
import pytest
import redis.exceptions
import sqlalchemy.exc
import structlog
from aiokafka import errors as kafka
from structlog.testing import capture_logs

from infra.dependencies import DependencyUnavailable, log_failure, unavailable


def elasticsearch_answer(status: int, error_type: type = elasticsearch.ApiError) -> Exception:
    node = elastic_transport.NodeConfig("http", "127.0.0.1", 9200)
    meta = elastic_transport.ApiResponseMeta(status=status, http_version="1.1",
                                             headers=elastic_transport.HttpHeaders(),
                                             duration=0.01, node=node)
    return error_type("search_phase_execution_exception", meta=meta, body={})


@pytest.mark.parametrize(("error", "dependency"), [
    (kafka.KafkaConnectionError("Unable to bootstrap"), "Kafka"),
    (kafka.KafkaTimeoutError(), "Kafka"),
    (kafka.NotLeaderForPartitionError(), "Kafka"),
    (kafka.CommitFailedError("the group has already rebalanced"), "Kafka"),
    (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("(2003, Can't connect)")),
     "MySQL"),
    (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), "MySQL"),
    (pymongo.errors.ServerSelectionTimeoutError("No servers found"), "MongoDB"),
    (pymongo.errors.AutoReconnect("connection closed"), "MongoDB"),
    (redis.exceptions.ConnectionError("Connection refused"), "Redis"),
    (redis.exceptions.TimeoutError("Timeout reading"), "Redis"),
    (elastic_transport.ConnectionError("Connection refused"), "Elasticsearch"),
    (elastic_transport.ConnectionTimeout("Read timed out"), "Elasticsearch"),
    (elasticsearch_answer(503), "Elasticsearch"),
    (DependencyUnavailable("Kafka", "not appended in time"), "Kafka"),
])
def test_an_unreachable_server_is_named(error: Exception, dependency: str) -> None:
    outage = unavailable(error)
    assert outage is not None and outage.dependency == dependency


@pytest.mark.parametrize("error", [
    kafka.MessageSizeTooLargeError(),
    sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("(1062, Duplicate entry)")),
    pymongo.errors.DuplicateKeyError("E11000"),
    redis.exceptions.ResponseError("WRONGTYPE"),
    elastic_transport.SerializationError("not JSON"),
    elasticsearch_answer(400, elasticsearch.BadRequestError),
    elasticsearch_answer(404, elasticsearch.NotFoundError),
    ValueError("a bug"),
])
def test_other_errors_of_the_same_libraries_are_not_outages(error: Exception) -> None:
    assert unavailable(error) is None


def test_work_retried_after_an_outage_is_a_warning_naming_it_and_after_a_bug_an_error() -> None:
    log = structlog.get_logger("test")
    outage = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("(2003, Can't connect)"))
    with capture_logs() as logged:
        log_failure(log, "work.failed", outage, retry_in_s=2.0)
        log_failure(log, "work.failed", KeyError("line"), retry_in_s=4.0)
    warned, failed = logged
    assert (warned["log_level"], warned["retry_in_s"]) == ("warning", 2.0)
    assert "MySQL is unavailable" in warned["error"] and "exc_info" not in warned
    assert (failed["log_level"], failed["retry_in_s"]) == ("error", 4.0)
    assert isinstance(failed["exc_info"], KeyError)
