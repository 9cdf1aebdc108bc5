"""Error text that may be stored or sent: scrubbed of secrets, free of record values, bounded.

Error texts travel far: `sync_runs.error_text`, the `breezeway-status` report (pasted into
tickets and chat), the alert POST, and Meltano's log, which keeps the target's stderr. The
records carry guest contacts, door codes and wifi passwords, and the configuration carries
database and API credentials, so every error text that leaves the process passes through here:

- `scrub` removes credentials in every spelling we have met (URL user info, key=value and
  JSON forms, quoted values, URL-encoded forms, Authorization headers, JWTs);
- `describe_error` reduces an exception to what an operator needs (type, SQLSTATE and the
  primary message of a database error, never its DETAIL/CONTEXT, which quote row data);
- `bounded` caps the length, so a huge message can neither flood a table nor an alert.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

#: The most characters of error text stored or sent (sync_runs, status, alerts, logs).
MAX_ERROR_CHARS = 2048
#: Text longer than this is cut before the patterns run, so scrubbing stays linear and cheap.
_SCRUB_WINDOW = 65536
MASK = "***"

# Names whose value is a secret: password, PGPASSWORD, db_password, client_secret,
# BREEZEWAY_AUSTIN_CLIENT_SECRET, access_token, refresh_token, api_key, sslpassword...
_SECRET_NAME = (r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey)"
                r"[A-Za-z0-9_]*")
# name, optionally quoted, then = or : (also URL-encoded as %3D / %3A)
_NAME_SEP = (rf"(?P<pre>[\"']?\b{_SECRET_NAME}[\"']?\s*(?:[:=]|%3[dDaA])\s*)")
SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@host in URLs; the password may itself contain '@' (the last '@' before
    # the host ends it) but not '/' or whitespace.
    (re.compile(r"(?P<pre>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^\s/]*@", re.I),
     rf"\g<pre>{MASK}@"),
    # the same URL percent-encoded as a whole (a URL inside a query parameter)
    (re.compile(r"(?P<pre>\b[a-z][a-z0-9+.-]*%3A%2F%2F[\w.~-]*%3A)[^\s/&]*%40", re.I),
     rf"\g<pre>{MASK}%40"),
    # name="quoted value" / name='quoted value' (spaces and escaped quotes allowed)
    (re.compile(_NAME_SEP + r"\"(?:[^\"\\]|\\.)*\"", re.I), rf'\g<pre>"{MASK}"'),
    (re.compile(_NAME_SEP + r"'(?:[^'\\]|\\.)*'", re.I), rf"\g<pre>'{MASK}'"),
    # name=value unquoted: up to whitespace, a separator, or a URL-encoded '&' / quote
    (re.compile(_NAME_SEP + r"(?:(?!%26|%22|%27)[^\s\"',;&}\]])+", re.I), rf"\g<pre>{MASK}"),
    # Authorization headers (JWT is how Breezeway spells its scheme), whatever follows...
    (re.compile(r"(?P<pre>\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:(?:JWT|Bearer|Basic|Token)\s+)?)"
                r"[^\s\"',;}]+", re.I),
     rf"\g<pre>{MASK}"),
    # ...and a scheme word before a credential elsewhere (one with a digit or a symbol:
    # "Basic validation failed" is left alone)
    (re.compile(r"\b(?P<pre>(?:JWT|Bearer|Basic)\s+)(?=[\w.~+/=-]*[\d.~+/=_-])[\w.~+/=-]{6,}",
                re.I),
     rf"\g<pre>{MASK}"),
    # bare JWTs: header.payload.signature, base64url, the header always starts with eyJ
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"), MASK),
)


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """Each configured secret as it may appear in a text: raw and URL-encoded, longest
    first so that a secret containing another is masked whole."""
    variants = set()
    for secret in secrets:
        if secret and len(secret) >= 3:  # a one-character "secret" would mask every letter
            variants.update({secret, quote(secret, safe=""), quote_plus(secret)})
    return sorted(variants, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove passwords, tokens and URL credentials; also any configured secret value."""
    for secret in secret_variants(secrets):
        text = text.replace(secret, MASK)
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """At most `limit` characters; a cut says how much was left out."""
    if len(text) <= limit:
        return text
    note = f" … [{len(text) - limit} more characters cut]"
    return text[: max(limit - len(note), 0)] + note


def safe_text(text: str, secrets: Iterable[str] = (), limit: int = MAX_ERROR_CHARS) -> str:
    """Scrubbed, then bounded: what may be stored, shown or sent."""
    head = text[:_SCRUB_WINDOW]
    cut = len(text) - len(head)
    scrubbed = scrub(head, secrets) + (f" … [{cut} more characters cut]" if cut else "")
    return bounded(scrubbed, limit)


# A value PostgreSQL quotes in the primary message of a data exception (class 22), e.g.
# invalid input syntax for type integer: "…" / value "…" is out of range for type integer
_QUOTED = re.compile(r"\"(?:[^\"]|\"\")*\"")


def describe_error(error: BaseException) -> str:
    """`Type: message`, with what may quote row data left out.

    A psycopg2 error's text carries DETAIL (`Failing row contains (…)`, `Key (…)=(…)`) and
    CONTEXT (`COPY stage_tasks, line 5: "…the whole row…"`): only its SQLSTATE and primary
    message are kept, and in a data exception (class 22) the quoted value is withheld.
    SQLAlchemy's wrapper is unwrapped to the driver's error.
    """
    error = getattr(error, "orig", None) or error
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary:
        code = getattr(error, "pgcode", None) or ""
        if code.startswith("22"):
            primary = _QUOTED.sub('"(value withheld)"', primary)
        prefix = f"SQLSTATE {code}: " if code else ""
        return f"{type(error).__name__}: {prefix}{primary}"
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class RunFailedError(RuntimeError):
    """Stands in for an exception whose text cannot be replaced (see `with_message`)."""


def with_message(error: BaseException, text: str) -> BaseException:
    """The exception to re-raise once its text is safe: the SDK's handler logs it, with its
    chained causes, to stderr, which Meltano keeps in its log.

    The same exception with `text` as its only argument when its type prints its
    arguments (most do, psycopg2's errors too), so callers still catch it by type; else a
    `RunFailedError` carrying `text` and the original traceback. Causes are dropped (the
    caller raises `from None`): a chained SDK error would quote the input line again.
    KeyboardInterrupt and SystemExit pass unchanged.
    """
    if not isinstance(error, Exception):
        return error
    try:
        error.args = (text,)
        replaced = str(error) == text
    except (AttributeError, TypeError):
        replaced = False
    if replaced:
        return error
    return RunFailedError(text).with_traceback(error.__traceback__)
