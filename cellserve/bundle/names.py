"""What a service's name may be: the one rule the converter checks names against, the runtime's application
names are made of, and a cluster's Serve proxy recognises a service's routes by (standard library only)."""

from __future__ import annotations

import re

SERVICE_NAME_PATTERN = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
"""A service name, as a regular expression to match whole (it is a route, /<name>/, and a folder)."""
SERVICE_NAME_RULE = "1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
_SERVICE_NAME = re.compile(SERVICE_NAME_PATTERN)


def is_service_name(name: object) -> bool:
    """Whether ``name`` is a whole service name."""
    return isinstance(name, str) and _SERVICE_NAME.fullmatch(name) is not None
