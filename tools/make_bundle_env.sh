#!/usr/bin/env bash
# Make a virtual environment that sees the packages of the main one (ray, torch, ...) but not
# cellserve: its site-packages is added by a plain path (.pth) entry, so the editable-install
# hook that makes cellserve importable is never run. Ray started from here serves bundles the
# way a user's cluster does.
set -euo pipefail
main=${1:?usage: make_bundle_env.sh MAIN_VENV BUNDLE_VENV}
bundle=${2:?usage: make_bundle_env.sh MAIN_VENV BUNDLE_VENV}
python3 -m venv --clear "$bundle"
bundle=$(cd "$bundle" && pwd)
site=$("$main/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
own=$("$bundle/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site" > "$own/main-environment.pth"
printf '#!%s\nimport sys\nfrom ray.scripts.scripts import main\nsys.exit(main())\n' "$bundle/bin/python" > "$bundle/bin/ray"
printf '#!%s\nfrom ray.serve.scripts import cli\ncli()\n' "$bundle/bin/python" > "$bundle/bin/serve"
chmod +x "$bundle/bin/ray" "$bundle/bin/serve"
if (cd / && "$bundle/bin/python" -c 'import cellserve' 2>/dev/null); then
  echo "make_bundle_env: cellserve is importable from $bundle; it must not be" >&2
  exit 1
fi
(cd / && "$bundle/bin/python" -c 'import ray.serve, torch, sklearn')
