"""Who may call a cellserve service: everyone ('public'), or holders of its access token ('token').

The service never holds the token itself, only its SHA-256 digest: from its release
(CELLSERVE_RELEASE, set by `cellserve publish` in the version's environment) or from the
CELLSERVE_TOKEN environment variable (for `serve run` and Docker images). Programs send the token in
`Authorization: Bearer …`. A share link carries it once, as `?token=…`, to the page only: the page
keeps it in an HttpOnly, SameSite=Strict cookie scoped to the service's path and sends the browser
on to its own address without it, so the token leaves the URL (and the logs and histories that keep
URLs), and another site cannot make a signed-in browser call the service. Any other route refuses a
token in the URL. Digests are compared in constant time, and a token is never logged. A
token-protected service with no token configured lets nobody in.
"""

import hashlib
import hmac
import os
from dataclasses import dataclass

TOKEN_ENV = "CELLSERVE_TOKEN"  # noqa: S105 - the variable's name, not a secret
COOKIE = "cellserve_token"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Access:
    mode: str = "public"
    token_sha256: str | None = None

    @classmethod
    def configure(cls, mode: str, token_sha256: str | None) -> "Access":
        from_env = os.environ.get(TOKEN_ENV)
        return cls(mode, token_sha256 or (digest(from_env) if from_env else None))

    @property
    def public(self) -> bool:
        return self.mode == "public"

    def refusal(
        self,
        authorization: str | None,
        query_token: str | None = None,
        cookie: str | None = None,
        *,
        query_allowed: bool = False,
    ) -> str | None:
        """Why a request may not pass, or None when it may. ``query_allowed``: the route is the page, which a
        share link opens with the token in its URL."""
        if self.public:
            return None
        if query_token and not query_allowed:
            return (
                "Send the access token in the header 'Authorization: Bearer <token>', not in the URL: "
                "URLs are kept in logs and histories."
            )
        given = query_token or cookie
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                given = credentials.strip()
        if not given:
            return (
                "This service needs an access token: send the header 'Authorization: Bearer <token>'. "
                "Its owner gets the token, and a share link that opens this page with it, with `cellserve token NAME`."
            )
        if self.token_sha256 is None:
            return f"This service needs an access token but none is configured: set {TOKEN_ENV} where it runs."
        if not hmac.compare_digest(digest(given), self.token_sha256):
            return "The access token is not valid for this service."
        return None


def owner_refusal(authorization: str | None, owner_sha256: str | None) -> str | None:
    """Why a request for what only the service's owner may see (its request log) may not pass, or None.

    The owner key is not the access token: whoever calls the service does not see the others' requests.
    `cellserve publish` keeps the key on the owner's machine and gives the service its digest."""
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return "Only the service's owner may read its request log: use `cellserve requests NAME`."
    if owner_sha256 is None or not hmac.compare_digest(digest(credentials.strip()), owner_sha256):
        return "The owner key is not valid for this service."
    return None
