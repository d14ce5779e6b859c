"""Session and refresh-token rules on the real Redis, for any sequence of client actions."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from ops.bootstrap import build_clients
from infra.sessions import SessionStore
from infra.settings import Settings

ACTIONS = st.lists(st.one_of(st.just(("refresh",)), st.just(("check",)),
                             st.tuples(st.just("replay"), st.integers(0, 5))),
                   min_size=1, max_size=12)


async def _play(settings: Settings, actions) -> None:
    clients = build_clients(settings)
    try:
        store = SessionStore(clients.redis, 60, 120)
        user = str(uuid.uuid4())
        session = await store.create(user)
        current, rotated, alive = session.refresh_token, [], True
        for action in actions:
            if action[0] == "refresh":
                result = await store.rotate(current)
                assert (result is not None) == alive
                if result is not None:
                    rotated.append(current)
                    current = result.refresh_token
            elif action[0] == "replay" and rotated:
                # A refresh token used before: stolen. It never works, and it ends the session.
                assert await store.rotate(rotated[action[1] % len(rotated)]) is None
                alive = False
            assert await store.is_active(session.session_id, user) == alive
        forged = f"{session.session_id}.not-the-secret"
        assert await store.rotate(forged) is None
        assert await store.is_active(session.session_id, user) == alive
    finally:
        await clients.close()


@hypothesis_settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_refresh_rotation_and_reuse_for_any_sequence(settings: Settings, actions) -> None:
    asyncio.run(_play(settings, actions))


async def test_ending_all_sessions_but_one(settings: Settings) -> None:
    clients = build_clients(settings)
    try:
        store = SessionStore(clients.redis, 60, 120)
        user = str(uuid.uuid4())
        kept, *others = [await store.create(user) for _ in range(3)]
        assert await store.end_all(user, keep=kept.session_id) == 2
        assert [s.session_id for s in await store.list(user)] == [kept.session_id]
        assert all([not await store.is_active(o.session_id, user) for o in others])
        assert await store.rotate(others[0].refresh_token) is None
    finally:
        await clients.close()
