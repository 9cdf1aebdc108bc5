"""JWT-shaped access and refresh tokens, signed with a per-simulator HMAC key.

Real JWT structure (base64url header.payload.signature, HS256) so a tap that decodes `exp`
from the token works here as it would upstream. Refresh tokens rotate: each one can be used
once, after which only the newly issued one is valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import threading
from dataclasses import dataclass
from typing import Any

REFRESH_TTL_S = 30 * 86_400


class TokenError(Exception):
    """A token that cannot be accepted; `expired` tells the two 401 bodies apart."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class Claims:
    region: str
    token_type: str
    token_id: int
    expires_at: float


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues token pairs and checks them against the simulator's clock."""

    def __init__(self) -> None:
        self._key = os.urandom(32)
        self._ids = itertools.count(1)
        self._live_refresh: set[int] = set()
        self._lock = threading.Lock()

    def issue_pair(self, region: str, now: float, access_ttl_s: int) -> dict[str, str]:
        access = self._encode(region, "access", now, access_ttl_s)
        refresh_id = next(self._ids)
        refresh = self._encode(region, "refresh", now, REFRESH_TTL_S, refresh_id)
        with self._lock:
            self._live_refresh.add(refresh_id)
        return {"access_token": access, "refresh_token": refresh}

    def verify(self, token: str, expected_type: str, now: float) -> Claims:
        """Claims of a well-signed, unexpired token of the expected type, else TokenError."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("malformed token")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii", errors="replace")
        expected = _b64(hmac.new(self._key, signing_input, hashlib.sha256).digest()).encode()
        # bytes, not str: compare_digest raises TypeError on a non-ASCII str (header junk)
        if not hmac.compare_digest(expected, parts[2].encode("utf-8", errors="replace")):
            raise TokenError("invalid token signature")
        payload: dict[str, Any] = json.loads(_unb64(parts[1]))
        if payload.get("type") != expected_type:
            raise TokenError(f"expected a {expected_type} token, got {payload.get('type')!r}")
        if now >= payload["exp"]:
            raise TokenError("token expired", expired=True)
        return Claims(payload["sub"], payload["type"], payload["jti"], payload["exp"])

    def rotate(
        self, refresh_token: str, now: float, access_ttl_s: int
    ) -> tuple[str, dict[str, str]]:
        """Spend a refresh token (once only) and issue a new pair; returns (region, pair)."""
        claims = self.verify(refresh_token, "refresh", now)
        with self._lock:
            if claims.token_id not in self._live_refresh:
                raise TokenError("refresh token already used")
            self._live_refresh.discard(claims.token_id)
        return claims.region, self.issue_pair(claims.region, now, access_ttl_s)

    def _encode(
        self, region: str, token_type: str, now: float, ttl_s: int, token_id: int | None = None
    ) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = {
            "sub": region,
            "type": token_type,
            "iat": int(now),
            "exp": int(now) + ttl_s,
            "jti": token_id if token_id is not None else next(self._ids),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{signature}"
