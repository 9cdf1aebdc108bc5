"""Breezeway JWT authentication for the whole run (one instance per tap run, all streams).

Why custom: the SDK's OAuthAuthenticator refreshes only after expiry and drops rotated
refresh tokens, while Breezeway allows ONE token call and ONE refresh call per minute,
rotates refresh tokens on every refresh, and answers wrong credentials with HTTP 200 and an
`error` body. So this authenticator:

- obtains a token pair once (POST /public/auth/v1/ with the client credentials);
- refreshes (POST /public/auth/v1/refresh, header `JWT <refresh token>`, no body) shortly
  before the access token's JWT `exp` (there is no `expires_in`), or once after a 401;
- keeps the newest refresh token, and falls back to the client credentials only when the
  refresh token is refused;
- waits out a 429 of the auth endpoints (Retry-After or `details.retry_after`), and retries
  a 5xx, a dropped connection or a timeout with backoff, all within `auth_max_tries` (a
  retried call the API did count meets the one-per-minute 429, which is waited out too);
- turns a refused login into a fatal error naming the region, never a retry loop.

Secrets (client id/secret, tokens) never appear in log lines or exception texts: every
text taken from a response or an exception goes through `scrub`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from singer_sdk.authenticators import APIAuthenticatorBase
from singer_sdk.exceptions import FatalAPIError

from tap_breezeway.scrub import scrub

TOKEN_PATH = "/public/auth/v1/"
REFRESH_PATH = "/public/auth/v1/refresh"
#: Breezeway documents a 24 h access token; used only when `exp` cannot be read.
DOCUMENTED_ACCESS_TTL_S = 24 * 3600
#: Both auth endpoints allow one call per minute: never renew a pair younger than this.
MIN_RENEW_INTERVAL_S = 60.0
#: Renew this long before `exp` (capped to a tenth of the token's life for short tokens).
RENEW_MARGIN_S = 300.0

#: Failures of an auth call worth another attempt: the call may never have reached the API.
TRANSIENT_ERRORS = (
    requests.ConnectionError,  # refused, reset, dropped before the answer (and ConnectTimeout)
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # the connection broke inside the answer
)

logger = logging.getLogger(__name__)


class CredentialsRefusedError(FatalAPIError):
    """Breezeway refused the client credentials of a region."""


class AuthUnavailableError(FatalAPIError):
    """The auth endpoints kept failing (rate limit or server errors) beyond the retry budget."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    obtained_at: float
    expires_at: float


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim (epoch seconds) of a JWT, read without verifying the signature."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return None


def retry_after_seconds(response: requests.Response, now: float) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `details.retry_after`."""
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(header).timestamp() - now)
            except (TypeError, ValueError):
                logger.warning("Unreadable Retry-After header %r", header[:40])
    try:
        details = response.json().get("details") or {}
        moment = datetime.fromisoformat(str(details["retry_after"]))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)


def _path_of(request: requests.PreparedRequest) -> str:
    return urlsplit(request.url or "").path


class BreezewayAuthenticator(APIAuthenticatorBase):
    """Adds `Authorization: JWT <access token>`; thread-safe (tasks are fetched in parallel)."""

    def __init__(
        self,
        *,
        api_url: str,
        client_id: str,
        client_secret: str,
        region_code: str,
        timeout_s: float = 60.0,
        max_wait_s: float = 65.0,
        max_tries: int = 3,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.region_code = region_code
        self._timeout_s = timeout_s
        self._max_wait_s = max_wait_s
        self._max_tries = max(1, max_tries)
        self._session = session or requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._pair: TokenPair | None = None
        self._retried_after_401: weakref.WeakSet[requests.PreparedRequest] = weakref.WeakSet()
        #: Calls made to the auth endpoints, for logs and tests ("token", "refresh").
        self.calls: dict[str, int] = {"token": 0, "refresh": 0}

    # -- SDK hook ---------------------------------------------------------------------
    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Set the header only: the base class would also re-encode every URL's query."""
        request.headers["Authorization"] = f"JWT {self.access_token()}"
        return request

    # -- tokens -----------------------------------------------------------------------
    def access_token(self) -> str:
        with self._lock:
            if self._pair is None:
                self._pair = self._obtain()
            elif self._due_for_renewal(self._pair):
                self._pair = self._renew()
            return self._pair.access_token

    def on_unauthorized(self, request: requests.PreparedRequest) -> None:
        """A data call answered 401: renew the token once so the caller can retry it.

        Raises when this same request was already retried after a 401: a second refresh
        would not help, and every refresh costs a call of a one-per-minute endpoint.
        """
        with self._lock:
            if request in self._retried_after_401:
                raise CredentialsRefusedError(
                    f"Breezeway answered HTTP 401 for region '{self.region_code}' even with a "
                    f"refreshed token ({request.method} {_path_of(request)}); the "
                    f"credentials may lack access to it."
                )
            self._retried_after_401.add(request)
            rejected = (request.headers.get("Authorization") or "").removeprefix("JWT ")
            if self._pair is not None and self._pair.access_token == rejected:
                self._pair = self._renew()
            # else another thread already renewed it; the retry picks up the new token

    def _due_for_renewal(self, pair: TokenPair) -> bool:
        now = self._clock()
        if now - pair.obtained_at < MIN_RENEW_INTERVAL_S:
            return False
        margin = min(RENEW_MARGIN_S, (pair.expires_at - pair.obtained_at) / 10)
        return now >= pair.expires_at - margin

    def _obtain(self) -> TokenPair:
        body = {"client_id": self._client_id, "client_secret": self._client_secret}
        response = self._post("token", TOKEN_PATH, json_body=body)
        return self._pair_from(response, "token endpoint")

    def _renew(self) -> TokenPair:
        """Refresh with the newest refresh token; log in again only if it is refused."""
        assert self._pair is not None
        response = self._post(
            "refresh", REFRESH_PATH, headers={"Authorization": f"JWT {self._pair.refresh_token}"}
        )
        if response.status_code in (400, 401, 403) or self._error_text(response) is not None:
            logger.warning(
                "Breezeway refused the refresh token of region '%s' (HTTP %s); "
                "logging in again with the client credentials.",
                self.region_code, response.status_code,
            )
            return self._obtain()
        return self._pair_from(response, "refresh endpoint")

    # -- HTTP -------------------------------------------------------------------------
    def _post(
        self,
        kind: str,
        path: str,
        *,
        json_body: dict | None = None,
        headers: dict | None = None,
    ) -> requests.Response:
        """POST to an auth endpoint, retrying 429, 5xx, lost connections and timeouts.

        All within `max_tries` attempts: a 429 waits its Retry-After (the one-call-per-minute
        limit), the others back off exponentially; every wait is capped by `max_wait_s`.
        """
        url = f"{self._api_url}{path}"
        for attempt in range(1, self._max_tries + 1):
            self.calls[kind] += 1
            try:
                response = self._session.post(
                    url, json=json_body, headers=headers, timeout=self._timeout_s
                )
            except TRANSIENT_ERRORS as error:
                failure, details = f"could not be reached ({self._describe(error)})", ""
                wait = self._backoff(attempt)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                failure = f"answered HTTP {response.status_code}"
                details = f": {self._api_message(response)}"
                if response.status_code == 429:
                    details = f" (its limit is one call per minute){details}"
                wait = self._wait_for(response, attempt)
            if attempt == self._max_tries:
                break
            logger.warning(
                "Breezeway %s endpoint %s for region '%s'; retrying in %.1f s "
                "(attempt %d of %d).", kind, failure, self.region_code, wait, attempt,
                self._max_tries,
            )
            self._sleep(wait)
        raise AuthUnavailableError(
            f"Breezeway {kind} endpoint still {failure} for region '{self.region_code}' "
            f"after {self._max_tries} attempts{details}"
        )

    def _describe(self, error: BaseException) -> str:
        """The exception's class and text (which names the URL), scrubbed and bounded."""
        return f"{type(error).__name__}: {self._scrub(str(error))}"

    def _backoff(self, attempt: int) -> float:
        return min(float(2**attempt), self._max_wait_s)

    def _wait_for(self, response: requests.Response, attempt: int) -> float:
        hinted = retry_after_seconds(response, self._clock())
        return min(hinted, self._max_wait_s) if hinted is not None else self._backoff(attempt)

    def _pair_from(self, response: requests.Response, source: str) -> TokenPair:
        error = self._error_text(response)
        if response.status_code in (400, 401, 403) or error is not None:
            raise CredentialsRefusedError(
                f"Breezeway refused the credentials for region '{self.region_code}': the "
                f"{source} answered HTTP {response.status_code} with "
                f"{error or self._api_message(response)!s}. Check client_id/client_secret "
                f"of this region."
            )
        if response.status_code != 200:
            raise FatalAPIError(
                f"Breezeway {source} answered HTTP {response.status_code} for region "
                f"'{self.region_code}': {self._api_message(response)}"
            )
        payload = response.json()
        now = self._clock()
        access = payload["access_token"]
        expires_at = jwt_expiry(access)
        if expires_at is None:
            logger.warning("Access token has no readable `exp`; assuming the documented 24 h.")
            expires_at = now + DOCUMENTED_ACCESS_TTL_S
        return TokenPair(access, payload["refresh_token"], now, expires_at)

    def _error_text(self, response: requests.Response) -> str | None:
        """Why a 200 is a refusal: an `error` body, an empty body, or no token in it."""
        if response.status_code != 200:
            return None
        try:
            payload: Any = response.json() if response.content.strip() else None
        except ValueError:
            return "a body that is not JSON"
        if not isinstance(payload, dict) or not payload:
            return "an empty body"
        if payload.get("error"):
            return f"error {self._scrub(str(payload['error']))!r}"
        if not payload.get("access_token") or not payload.get("refresh_token"):
            return "no access_token/refresh_token"
        return None

    def _api_message(self, response: requests.Response) -> str:
        try:
            payload = response.json()
        except ValueError:
            return f"non-JSON body of {len(response.content)} bytes"
        if not isinstance(payload, dict):
            return "unexpected body"
        parts = [str(payload.get(key)) for key in ("error", "description") if payload.get(key)]
        details = payload.get("details")
        if isinstance(details, dict) and details.get("message"):
            parts.append(str(details["message"]))
        return self._scrub("; ".join(parts) or "no error message")

    def known_secrets(self) -> tuple[str, ...]:
        """Values no error text may show: the credentials and the current tokens."""
        pair = self._pair
        tokens = (pair.access_token, pair.refresh_token) if pair is not None else ()
        return (self._client_id, self._client_secret, *tokens)

    def _scrub(self, text: str) -> str:
        """Remove anything secret an error body might echo back."""
        return scrub(text, self.known_secrets(), limit=300)
