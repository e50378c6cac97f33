"""The suite that ships with ocpp-harness: the OCA test-case scenarios, their reusable states and the example
targets, answered in one place so the CLI, the pytest plugin and the scenario loader agree on where they are.

They are package data of this package (``scenarios`` and ``targets`` here link to the top-level folders of the
repository and are copied into the wheel, see pyproject.toml), so one ``importlib.resources`` lookup finds them in
a checkout, an editable install and an installed wheel alike, whatever the current directory.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from pathlib import Path

import yaml

from harness.outcomes import HarnessError

__all__ = [
    "BUNDLED_TARGET",
    "EXAMPLE_TARGET",
    "LOCAL_DEFAULT_TARGET",
    "default_target",
    "display_path",
    "shipped_scenarios",
    "shipped_target",
    "starter_target",
]

BUNDLED_TARGET = "bundled.yaml"
EXAMPLE_TARGET = "example.yaml"
# A checkout (or a team that keeps the bundled target next to its own) overrides the shipped default from here.
LOCAL_DEFAULT_TARGET = Path("targets") / BUNDLED_TARGET

# What `ocpp-harness init` fills in, by where it lives in the shipped example target.
_STARTER_FIELDS = {
    "ws_url": ("endpoints", "profile_1", "ws_url"),
    "api_url": ("endpoints", "profile_1", "api_url"),
    "station_id": ("stations", "default", "id"),
}
_ENV_WITH_DEFAULT = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):-[^}]*\}")


def _shipped(folder: str) -> Path:
    found = importlib.resources.files(__name__) / folder
    if not isinstance(found, Path) or not found.is_dir():
        # A zip import, a wheel built without its package data, or a checkout whose links git wrote as text files
        # (core.symlinks false) would otherwise surface as "no scenario matches" much later.
        raise HarnessError(
            f"the {folder} shipped with ocpp-harness are missing at {found}; reinstall it, or in a checkout restore "
            f"the link harness/suite/{folder} -> ../../{folder}"
        )
    return found.resolve()


def shipped_scenarios() -> Path:
    """The folder of the shipped scenarios (one folder per profile, plus ``_states``)."""
    return _shipped("scenarios")


def shipped_target(name: str) -> Path:
    """A shipped target file by name: ``bundled.yaml`` (the bundled CSMS) or ``example.yaml`` (a template)."""
    return _shipped("targets") / name


def default_target() -> Path:
    """``targets/bundled.yaml`` of the current directory when there is one, else the shipped one."""
    return LOCAL_DEFAULT_TARGET if LOCAL_DEFAULT_TARGET.is_file() else shipped_target(BUNDLED_TARGET)


def display_path(path: Path) -> str:
    """A path as messages show it: relative when it is under the current directory, else absolute (a path into
    site-packages spelled with a row of ``../`` helps nobody)."""
    try:
        relative = os.path.relpath(os.path.abspath(path))
    except ValueError:  # another drive (Windows)
        return str(path.absolute())
    return str(path.absolute()) if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative


def starter_target(*, ws_url: str | None = None, api_url: str | None = None, station_id: str | None = None) -> str:
    """The text of a starter target file: the shipped example, comments and all, with the given values in place.

    Values are spliced in at the positions of their YAML nodes, so the example stays the only copy of the text; a
    value that was ``${NAME:-default}`` keeps reading ``NAME`` from the environment, with the given default.
    """
    text = shipped_target(EXAMPLE_TARGET).read_text(encoding="utf-8")
    root = yaml.compose(text)
    edits = []
    for field, value in (("ws_url", ws_url), ("api_url", api_url), ("station_id", station_id)):
        if value is None:
            continue
        node = _node_at(root, _STARTER_FIELDS[field])
        edits.append((node.start_mark.index, node.end_mark.index, _scalar_text(node.value, value)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _node_at(root: yaml.Node | None, path: tuple[str, ...]) -> yaml.ScalarNode:
    node = root
    for key in path:
        mapping = node.value if isinstance(node, yaml.MappingNode) else []
        node = next((value for name, value in mapping if name.value == key), None)
    if not isinstance(node, yaml.ScalarNode):
        raise LookupError(f"{EXAMPLE_TARGET} shipped with ocpp-harness has no value at {'.'.join(path)}")
    return node


def _scalar_text(old: str, value: str) -> str:
    environment = _ENV_WITH_DEFAULT.fullmatch(old)
    if environment is not None and "}" not in value:
        value = f"${{{environment['name']}:-{value}}}"
    try:
        plain = yaml.safe_load(value) == value
    except yaml.YAMLError:
        plain = False
    # A JSON string is a YAML double-quoted scalar: safe for values YAML would read as numbers, comments or maps.
    return value if plain and "\n" not in value else json.dumps(value, ensure_ascii=False)
