"""Authorization: on a shared server (JupyterHub scopes) a user allowed to read cellserve cannot publish,
roll back or delete. A real Jupyter server whose authorizer grants reading only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest
from jupyter_server.auth import Authorizer

from cellserve.jupyter._handlers import AUTH_RESOURCE

Api = Callable[..., Awaitable[tuple[int, Any]]]


class ReadOnly(Authorizer):  # type: ignore[misc]
    """Grants every resource but cellserve, and cellserve only for reading."""

    asked: ClassVar[list[tuple[str, str]]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if resource == AUTH_RESOURCE:
            self.asked.append((action, handler.request.method))
            return action == "read"
        return True


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"cellserve.jupyter": True}, "authorizer_class": ReadOnly}}


async def test_a_reader_can_read_but_not_publish_roll_back_or_delete(api: Api, digits: str) -> None:
    ReadOnly.asked.clear()
    assert (await api("GET", "settings", "schema"))[0] == 200
    assert (await api("GET", "roles"))[0] == 200
    assert (await api("GET", "cluster-address", address="head:8265"))[0] == 200
    code, report = await api("POST", "check", body={"path": digits})
    assert (code, report["service"]) == (200, "digits")
    assert (await api("GET", "services", "nothing-here"))[0] == 404  # allowed to look: there is no such service

    assert (await api("POST", "publish", body={"path": digits}))[0] == 403
    assert (await api("POST", "services", "digits", "rollback", body={}))[0] == 403
    assert (await api("POST", "services", "digits", "promote", body={}))[0] == 403
    assert (await api("POST", "services", "digits", "canary", body={"version": None}))[0] == 403
    assert (await api("DELETE", "services", "digits"))[0] == 403
    assert ("execute", "POST") in ReadOnly.asked
    assert ("write", "DELETE") in ReadOnly.asked
