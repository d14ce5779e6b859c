"""Personal data in events and commands travels sealed: encrypted with its subject's key.

A `Sealed` value is `v1.` followed by base64url(nonce + AES-GCM ciphertext).
Deleting the subject's key (crypto-shredding) leaves every copy unreadable.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Sealed = Annotated[str, Field(pattern=r"^v1\.[A-Za-z0-9_-]+$", max_length=4096,
                              description="Personal data sealed with its subject's key.")]
