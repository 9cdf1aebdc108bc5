"""Error text safe for logs and exceptions: no secret, no control character, bounded.

The API's own error texts (and our description of the call) go into exceptions that reach
Meltano's log, a run's stored error and alerts. An API may echo what it was sent: a client
secret, a JWT, `client_secret=...`, an `Authorization` header. `scrub` removes the values
it is told about (in raw, URL-encoded and JSON-escaped form) and anything that looks like a
credential, then bounds the length. Masking too much is the safe failure: these texts are
for people diagnosing a run, who need the status, the call and the API's words, not values.

Forms covered (each has a test): URL credentials whose password holds `@` or `/`,
`key=value` and `"key": "value"` pairs whose key merely contains a secret word
(`PGPASSWORD=`, `BREEZEWAY_X_CLIENT_SECRET=`), quoted values with spaces, URL-encoded
pairs (`client_secret%3D...`, `%22password%22%3A%22...%22`), `Authorization:` headers,
`JWT`/`Bearer` tokens and bare JWTs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
#: Longest text kept (after scrubbing): an error message, not a body dump.
DEFAULT_LIMIT = 500
#: Text looked at before scrubbing: a multi-megabyte body must not cost seconds of regex.
_INPUT_LIMIT = 64 * 1024

# A whole word that contains a secret word. Anchored at a word's start and consumed
# possessively, so scanning stays linear on long words (no backtracking into them).
_SECRET_WORD = (r"(?<![\w-])(?=[\w-]*?(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|apikey|"
                r"private[_-]?key|access[_-]?key|credentials?|signature))[\w-]++")
_QUOTE = r"(?:\\?[\"']|%22|%27)"
_SEPARATOR = r"\s*(?:[:=]|%3A|%3D)\s*"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host: everything up to the last @ of the token (a password
    # may hold @ or /); also URL-encoded (%3A%2F%2F ... %40).
    # (Bounded, so that backtracking to the last @ stays cheap on long tokens.)
    (re.compile(r"(?P<pre>\b[a-z][a-z0-9+.-]{0,30}(?:://|%3A%2F%2F))\S{0,256}(?:@|%40)", re.I),
     rf"\g<pre>{MASK}@"),
    # Authorization / Cookie headers: the whole value, whatever its scheme.
    (re.compile(r"(?P<pre>\b(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key)"
                rf"{_QUOTE}?{_SEPARATOR}{_QUOTE}?)[^\"',;}}\r\n]+", re.I),
     rf"\g<pre>{MASK}"),
    # key=value, key: value, "key": "value" for keys containing a secret word: a quoted
    # value is masked to its closing quote (spaces included), an unquoted one to a delimiter.
    (re.compile(rf"(?P<pre>{_SECRET_WORD}{_QUOTE}?{_SEPARATOR})"
                rf"(?:(?P<q>\\?\"|\\?'|%22|%27)(?:(?!(?P=q)).)*(?P=q)?|[^\s,;&}}\]\"']+)", re.I),
     rf"\g<pre>{MASK}"),
    # JWT/Bearer/Basic credentials after their scheme word, and bare JWTs.
    (re.compile(r"(?P<pre>\b(?:JWT|Bearer)\s+)[A-Za-z0-9._~+/=-]{6,}", re.I), rf"\g<pre>{MASK}"),
    (re.compile(r"(?P<pre>\bBasic\s+)[A-Za-z0-9+/]{8,}={0,2}"), rf"\g<pre>{MASK}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.?[A-Za-z0-9_-]*"), MASK),
)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]+")


def scrub(text: str, secrets: Iterable[str | None] = (), *, limit: int = DEFAULT_LIMIT) -> str:
    """`text` without the given secrets or credential-like values, on one line, bounded."""
    text = _UNPRINTABLE.sub(" ", text[:_INPUT_LIMIT])
    for secret in secrets:
        for form in _forms(secret):
            text = text.replace(form, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _forms(secret: str | None) -> list[str]:
    """A secret as it may appear in an echo: raw, URL-encoded, JSON-escaped."""
    if not secret:
        return []
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return sorted(forms, key=len, reverse=True)  # longest first: no half-replaced form
