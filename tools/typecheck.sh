#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping (converter/ -> cellserve.converter, …), so
# type-check a tree of links laid out as the installed package is.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=.mypy-tree
rm -rf "$tree" && mkdir -p "$tree/cellserve"
for file in cellserve/*; do ln -s "$PWD/$file" "$tree/cellserve/$(basename "$file")"; done
ln -s "$PWD/converter" "$tree/cellserve/converter"
ln -s "$PWD/runtime" "$tree/cellserve/runtime"
ln -s "$PWD/extension/server" "$tree/cellserve/jupyter"
cd "$tree" && exec ../.venv/bin/mypy --config-file ../pyproject.toml -p cellserve
