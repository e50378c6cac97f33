"""``ocpp-harness init``: a starter target file that loads, explains every field, and is the shipped example with
the values given on the command line, never a second copy of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import load_target
from harness.suite import EXAMPLE_TARGET, shipped_target, starter_target


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CSMS_WS_URL", "CSMS_API_URL", "CSMS_SP1_PASSWORD", "CSMS_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def undocumented_keys(text: str) -> list[str]:
    """Keys with no comment on their line and no comment-only line right above them."""
    lines = text.splitlines()
    missing: list[str] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                where = f"{path}.{key.value}" if path else str(key.value)
                line = key.start_mark.line
                own = lines[line][key.start_mark.column :]
                above = lines[line - 1].strip() if line > 0 else ""
                if "#" not in own and not above.startswith("#"):
                    missing.append(where)
                walk(value, where)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item, path)

    walk(yaml.compose(text), "")
    return missing


def test_init_writes_the_shipped_example_into_the_current_directory(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init"]) == 0
    written = here / "ocpp-harness.yaml"
    assert written.read_text(encoding="utf-8") == shipped_target(EXAMPLE_TARGET).read_text(encoding="utf-8")
    assert "ocpp-harness validate --target ocpp-harness.yaml" in capsys.readouterr().out
    target = load_target("ocpp-harness.yaml")
    assert target.station("default").id == "SerialNumbeBasic"


def test_the_options_fill_the_url_and_station_fields(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["init", "ci/target.yaml", "--ws-url", "wss://csms.example.test/ocpp"]
    argv += ["--api-url", "https://csms.example.test/api/v1", "--station-id", "0042"]
    assert main(argv) == 0
    target = load_target("ci/target.yaml")
    station = target.station("default")
    assert station.id == "0042"  # quoted in the file: YAML would otherwise read the number 42
    assert target.endpoint(station).ws_url == "wss://csms.example.test/ocpp"
    assert target.endpoint(station).api_url == "https://csms.example.test/api/v1"
    monkeypatch.setenv("CSMS_WS_URL", "ws://from-the-environment/ocpp")
    assert load_target("ci/target.yaml").endpoint(station).ws_url == "ws://from-the-environment/ocpp"


def test_only_the_given_values_change(here: Path) -> None:
    example = shipped_target(EXAMPLE_TARGET).read_text(encoding="utf-8").splitlines()
    starter = starter_target(station_id="CP_7").splitlines()
    changed = [(a, b) for a, b in zip(example, starter, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][0].startswith("    id: SerialNumbeBasic ")
    assert changed[0][1] == changed[0][0].replace("SerialNumbeBasic", "CP_7")


def test_every_field_of_the_starter_file_has_a_comment() -> None:
    assert undocumented_keys(starter_target(ws_url="ws://h/ocpp", api_url="http://h", station_id="A")) == []


def test_the_comment_check_finds_an_undocumented_key() -> None:
    assert undocumented_keys("# a file\nname: x  # its name\nstations:\n  default: {id: A}  # the station\n") == [
        "stations"
    ]


def test_init_refuses_to_overwrite_unless_forced(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (here / "mine.yaml").write_text("name: keep me\n", encoding="utf-8")
    assert main(["init", "mine.yaml", "--station-id", "CP_9"]) == 2
    assert capsys.readouterr().err.strip() == "error: mine.yaml exists; pass --force to overwrite it"
    assert (here / "mine.yaml").read_text(encoding="utf-8") == "name: keep me\n"
    assert main(["init", "mine.yaml", "--station-id", "CP_9", "--force"]) == 0
    assert load_target("mine.yaml").station("default").id == "CP_9"


def test_init_refuses_a_websocket_url_that_is_not_one(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--ws-url", "http://csms.example.test/ocpp"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --ws-url: expected a ws:// or wss:// URL, got 'http://csms.example.test/ocpp'"
    )
    assert not (here / "ocpp-harness.yaml").exists()


def test_a_missing_target_names_the_path_and_init(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--target", "ci/target.yaml"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: ci/target.yaml: no such target file (ocpp-harness init ci/target.yaml writes a starter one)"
    )


def test_validate_checks_the_written_target(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    capsys.readouterr()
    assert main(["validate", "--target", "ocpp-harness.yaml"]) == 0
    assert capsys.readouterr().out.strip() == "ok"
    written = here / "ocpp-harness.yaml"
    written.write_text(written.read_text(encoding="utf-8").replace("profile: 1", "profile: 7", 1), encoding="utf-8")
    assert main(["validate", "--target", "ocpp-harness.yaml"]) == 1
    assert capsys.readouterr().out.strip() == (
        "ocpp-harness.yaml: stations.default.security_profile: expected 0..3, got 7"
    )
