"""Signing in: email and password for an access token, a refresh token and a session."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, EmailStr, Field

from api import consistency
from api.deps import ClientsDep, ConsistencyToken, ProjectionsDep, SessionsDep, SettingsDep, SignerDep
from infra.security import email_key, verify_password

router = APIRouter(tags=["authentication"])


class Credentials(BaseModel):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    session_id: str


@router.post("/v1/auth/login", response_model=Tokens,
             responses={401: {"description": "Wrong email or password"}})
async def login(credentials: Credentials, request: Request, settings: SettingsDep,
                projections: ProjectionsDep, signer: SignerDep, sessions: SessionsDep,
                clients: ClientsDep, token: ConsistencyToken = None) -> Tokens:
    """Sign in. An unknown email and a wrong password get the same answer, in the same time."""
    await consistency.wait_for(clients, projections["users"], token)
    user = await projections["users"].find_by_email_key(  # type: ignore[attr-defined]
        email_key(settings, credentials.email))
    if not verify_password(user["password_hash"] if user else None, credentials.password):
        raise HTTPException(401, "The email or password is wrong.",
                            headers={"WWW-Authenticate": "Bearer"})
    assert user is not None
    session = await sessions.create(user["id"], user_agent=request.headers.get("user-agent", ""),
                                    ip=request.client.host if request.client else "")
    return Tokens(access_token=signer.issue(user["id"], user["roles"], session.session_id),
                  refresh_token=session.refresh_token, expires_in=signer.ttl_s,
                  session_id=session.session_id)
