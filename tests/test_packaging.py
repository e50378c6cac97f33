"""The harness as a CSMS team gets it: a wheel built from this tree, installed into a fresh virtual environment
without a package index, and run from an empty folder. Only what the wheel carries can make these pass: the
checkout is neither the current directory nor on the path of the installed harness.

The fresh environment borrows the project's dependencies from the environment running these tests (a ``.pth``
file, written after the install so pip sees an empty environment), so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ocppj", "harness", "simulator", "csms")
NOT_SOURCES = ("__pycache__", "*.egg-info", "build", "reports", ".venv", ".git", ".mypy_cache", ".ruff_cache")


def run(*command: str | Path, cwd: Path | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST_", "PIP_", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s
    )


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the tree, so a stale ``build/`` of the checkout cannot leak files into it."""
    source = tmp_path_factory.mktemp("source") / "ocpp-harness"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path_factory.mktemp("wheel")
    pip = (sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check")
    checked(run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--quiet", source, "-w", out))
    (built,) = out.glob("ocpp_harness-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv") / "venv"
    checked(run(sys.executable, "-m", "venv", "--without-pip", home))
    python = home / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "--python", python)
    checked(run(*pip, "install", "--no-deps", "--no-index", "--quiet", wheel))
    purelib = Path(
        checked(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")).stdout.strip()
    )
    ours = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    (purelib / "_test_runner_dependencies.pth").write_text("".join(f"{path}\n" for path in ours), encoding="utf-8")
    return home


def shipped_in(venv: Path, cwd: Path) -> Path:
    """Where the installed harness finds its suite (``python -c`` imports from ``cwd`` first: keep it empty)."""
    code = "from harness.suite import shipped_scenarios; print(shipped_scenarios().parent)"
    return Path(checked(run(venv / "bin" / "python", "-c", code, cwd=cwd)).stdout.strip())


def test_the_wheel_carries_the_suite_the_targets_the_schema_and_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    suite = {
        f"harness/suite/scenarios/{p.relative_to(ROOT / 'scenarios')}" for p in (ROOT / "scenarios").rglob("*.yaml")
    }
    targets = {f"harness/suite/targets/{p.name}" for p in (ROOT / "targets").glob("*.yaml")}
    modules = {str(p.relative_to(ROOT)) for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    assert {"harness/suite/scenarios/_states/booted.yaml", "harness/suite/targets/example.yaml"} <= suite | targets
    assert suite - names == set()
    assert targets - names == set()
    assert modules - names == set()
    assert "harness/scenario/schema.json" in names


def test_the_installed_harness_is_the_wheel_not_the_checkout(venv: Path, tmp_path: Path) -> None:
    shipped = shipped_in(venv, tmp_path)
    assert shipped.is_relative_to(venv) and not shipped.is_relative_to(ROOT)
    assert (shipped / "targets" / "bundled.yaml").is_file()


def test_run_from_an_empty_folder_replays_the_shipped_suite_and_reports_there(venv: Path, tmp_path: Path) -> None:
    result = run(venv / "bin" / "ocpp-harness", "run", "-k", "TC_001", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = tmp_path / "reports" / "latest"
    for name in ("summary.html", "summary.md", "summary.json", "junit.xml", "allure-results", "traces"):
        assert (report / name).exists(), name
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert [(r["id"], r["verdict"]) for r in summary["results"]] == [("TC_001_CSMS", "PASS")]
    assert Path(summary["target"]["file"]).is_relative_to(venv)


def test_init_then_validate_in_an_empty_folder(venv: Path, tmp_path: Path) -> None:
    cli = venv / "bin" / "ocpp-harness"
    checked(run(cli, "init", "--ws-url", "wss://csms.example.test/ocpp", "--station-id", "CP_42", cwd=tmp_path))
    assert "id: CP_42" in (tmp_path / "ocpp-harness.yaml").read_text(encoding="utf-8")
    assert checked(run(cli, "validate", "--target", "ocpp-harness.yaml", cwd=tmp_path)).stdout.strip() == "ok"
    again = run(cli, "init", cwd=tmp_path)
    assert (again.returncode, again.stderr.strip()) == (
        2,
        "error: ocpp-harness.yaml exists; pass --force to overwrite it",
    )


def test_pytest_runs_a_folder_of_ones_own_and_the_shipped_suite_through_the_installed_plugin(
    venv: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "scenarios" / "MY_001_CSMS.yaml"
    mine.parent.mkdir()
    mine.write_text(
        "id: MY_001_CSMS\ntitle: a heartbeat on the shipped boot state\nprofile: Core\n"
        "steps:\n  - use: booted\n  - send: Heartbeat\n    expect: {currentTime: {schema: {type: string}}}\n",
        encoding="utf-8",
    )
    target = shipped_in(venv, tmp_path) / "targets" / "bundled.yaml"
    result = run(
        venv / "bin" / "python", "-m", "pytest", "scenarios", "--with-shipped", "--target", target,
        "-k", "MY_001 or TC_001", "-v", "-p", "no:cacheprovider", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "plugins:" in result.stdout and "ocpp-harness" in result.stdout
    assert "MY_001_CSMS.yaml::MY_001_CSMS PASSED" in result.stdout
    assert "core/TC_001_CSMS.yaml::TC_001_CSMS PASSED" in result.stdout
    assert (tmp_path / "reports" / "latest" / "summary.json").is_file()
