"""Scenario files are written into a temporary tree and loaded by relative path, as ``pytest scenarios/`` does,
so the expected problem texts in these tests are exactly what a user reads."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.outcomes import ScenarioError
from harness.scenario.loader import load_scenario

WriteFile = Callable[[str, str], str]
Problems = Callable[[str], list[str]]


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteFile:
    """Write ``text`` (dedented) to ``relative`` under a fresh working directory; return the relative path."""
    monkeypatch.chdir(tmp_path)

    def _write(relative: str, text: str) -> str:
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return relative

    return _write


@pytest.fixture
def problems() -> Problems:
    """The problems of one scenario file as ``path:line:col: message`` lines (the file must fail to load)."""

    def _problems(path: str) -> list[str]:
        with pytest.raises(ScenarioError) as raised:
            load_scenario(path)
        lines = [str(problem) for problem in raised.value.problems]
        assert str(raised.value) == "\n".join(lines)
        return lines

    return _problems
