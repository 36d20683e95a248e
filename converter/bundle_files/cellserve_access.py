"""Who may call a cellserve service: everyone ('public'), or holders of its access token ('token').

The service never holds the token itself, only its SHA-256 digest: from release.json
(written by `cellserve publish`) or from the CELLSERVE_TOKEN environment variable (for
`serve run` and Docker images). A token is accepted from `Authorization: Bearer …` or
from `?token=…` (the share link). Digests are compared in constant time, and a token
is never logged. A token-protected service with no token configured lets nobody in.
"""

import hashlib
import hmac
import os
from dataclasses import dataclass

TOKEN_ENV = "CELLSERVE_TOKEN"  # noqa: S105 - the variable's name, not a secret


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

    def refusal(self, authorization: str | None, query_token: str | None) -> str | None:
        """Why a request may not pass, or None when it may."""
        if self.public:
            return None
        given = query_token
        if authorization:
            scheme, _, credentials = authorization.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                given = credentials.strip()
        if not given:
            return (
                "This service needs an access token: send the header 'Authorization: Bearer <token>' "
                "or add ?token=<token> to the URL. Its owner gets the token with `cellserve token NAME`."
            )
        if self.token_sha256 is None:
            return f"This service needs an access token but none is configured: set {TOKEN_ENV} where it runs."
        if not hmac.compare_digest(digest(given), self.token_sha256):
            return "The access token is not valid for this service."
        return None
