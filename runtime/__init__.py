"""Bundle → live endpoint on a Ray cluster (publish, versions, rollback): not built yet.

Today a bundle written by :func:`cellserve.converter.convert` is served with plain
Ray: ``serve run serve.yaml`` in the bundle directory.
"""

__all__: list[str] = []
