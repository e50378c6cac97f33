"""The suite that ships with ocpp-harness: the OCA test-case scenarios, their reusable states and the example
targets, answered in one place so the CLI, the pytest plugin and the scenario loader agree on where they are.

They are package data of this package (``scenarios`` and ``targets`` here link to the top-level folders of the
repository and are copied into the wheel, see pyproject.toml), so one ``importlib.resources`` lookup finds them in
a checkout, an editable install and an installed wheel alike, whatever the current directory.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from harness.outcomes import HarnessError

__all__ = [
    "BUNDLED_TARGET",
    "EXAMPLE_TARGET",
    "LOCAL_DEFAULT_TARGET",
    "default_target",
    "display_path",
    "shipped_scenarios",
    "shipped_target",
]

BUNDLED_TARGET = "bundled.yaml"
EXAMPLE_TARGET = "example.yaml"
# A checkout (or a team that keeps the bundled target next to its own) overrides the shipped default from here.
LOCAL_DEFAULT_TARGET = Path("targets") / BUNDLED_TARGET


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
