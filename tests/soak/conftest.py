"""The soak tests publish to the session's real Ray cluster, as the runtime tests do."""

from tests.runtime.conftest import cluster, home  # noqa: F401 - shared fixtures of the runtime tests
