"""An event whose transaction was aborted never happened: no worker acts on it.

A command processor that dies mid-transaction leaves its events in the log, aborted;
its successor decides the command again, perhaps otherwise. Here a transactional
producer writes a sign-up for one new user and aborts, then writes one for a second
user in the same partition and commits: the second user is welcomed, in order after
the first, and the first never is.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from infra.clients import Clients
from infra.log_ends import partition_of
from infra.security import email_key
from infra.settings import Settings
from schemas.envelope import EventEnvelope
from schemas.events.users import UserRegistered
from schemas.topics import USERS
from streams.emails import EMAILS
from tests.mail_support import mails_to, subjects, wait_for_mails
from tests.support import unique_email

WELCOME = EMAILS["UserRegistered"].subject


async def sign_up_event(clients: Clients, settings: Settings, user_id: uuid.UUID,
                        address: str) -> EventEnvelope:
    """The event of a sign-up, sealed as the users service seals it."""
    subject = str(user_id)
    event = UserRegistered(user_id=user_id, email_key=email_key(settings, address),
                           email=await clients.keys.seal(subject, address),
                           full_name=await clients.keys.seal(subject, "Aborted Ann"),
                           roles=["customer"])
    return EventEnvelope(
        event_id=uuid.uuid4(), type=event.type_name(), schema_version=event.schema_version,
        aggregate_id=subject, aggregate_version=1, occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(), causation_id=uuid.uuid4(), actor=None,
        payload=event.model_dump(mode="json"))


def user_in(partition: int, settings: Settings) -> uuid.UUID:
    """A new user id whose events land in `partition`."""
    while partition_of(str(user_id := uuid.uuid4()),
                       list(range(settings.kafka_partitions))) != partition:
        pass
    return user_id


async def test_an_event_of_an_aborted_transaction_sends_no_email(
        clients: Clients, settings: Settings) -> None:
    aborted_user = uuid.uuid4()
    committed_user = user_in(partition_of(str(aborted_user),
                                          list(range(settings.kafka_partitions))), settings)
    aborted_address, committed_address = unique_email("aborted"), unique_email("committed")
    topic = USERS.events.name
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap,
                                transactional_id=f"test-aborted-{uuid.uuid4()}")
    await producer.start()
    try:
        await producer.begin_transaction()
        await producer.send_and_wait(topic, (await sign_up_event(
            clients, settings, aborted_user, aborted_address)).to_bytes(),
            key=str(aborted_user).encode())
        await producer.abort_transaction()
        await producer.begin_transaction()
        await producer.send_and_wait(topic, (await sign_up_event(
            clients, settings, committed_user, committed_address)).to_bytes(),
            key=str(committed_user).encode())
        await producer.commit_transaction()
    finally:
        await producer.stop()

    # One partition, read in order: once the second is welcomed, the first was passed.
    assert subjects(await wait_for_mails(settings, committed_address, [WELCOME])) == [WELCOME]
    assert await mails_to(settings, aborted_address) == []
