"""``ocpp-harness certs`` as a user meets it: the bundle it writes, exit codes and one-line errors, ``--force``, and
the README and .gitignore that go with the folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from csms.pki import PkiFiles
from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def fingerprints(folder: Path) -> dict[str, str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {entry["path"]: entry["sha256_fingerprint"] for entry in manifest["files"] if entry["kind"] == "certificate"}


def test_certs_writes_a_complete_pki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "certs"
    arguments = ["--host", "csms.example.com", "--cpo-name", "Example CPO", "--station", "SN-1", "--station", "SN-2"]
    assert main(["certs", "--out", str(out), *arguments]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    assert printed.out.splitlines() == [
        f"wrote a test PKI in {out}: CA, CSMS server certificates (RSA, ECDSA) for csms.example.com, a firmware "
        "signing certificate, 2 station certificate(s), bad/ for the negative tests; manifest.json describes each "
        "file. Test material only."
    ]
    files = PkiFiles.read(out)
    assert (files.hosts, files.cpo_name, list(files.stations)) == (
        ("csms.example.com",),
        "Example CPO",
        ["SN-1", "SN-2"],
    )
    names = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert names == sorted(
        [
            "manifest.json",
            *(
                f"{stem}.{suffix}"
                for stem in ("ca", "csms-rsa", "csms-ecdsa", "firmware-signing")
                for suffix in ("pem", "key")
            ),
            *(f"stations/{station}.{suffix}" for station in ("SN-1", "SN-2") for suffix in ("pem", "key")),
            *(
                f"bad/{stem}.{suffix}"
                for stem in (
                    "untrusted-ca",
                    "untrusted-server",
                    "untrusted-station",
                    "expired-server",
                    "expired-station",
                    "wrong-cn-server",
                    "wrong-cn-station",
                    "weak-key-server",
                )
                for suffix in ("pem", "key")
            ),
        ]
    )
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in out.rglob("*.key"))


def test_certs_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "certs"
    assert main(["certs", "--out", str(out)]) == 0
    before = fingerprints(out)
    capsys.readouterr()
    assert main(["certs", "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == f"error: {out / 'manifest.json'} exists; pass --force to replace the test PKI in {out}\n"
    assert fingerprints(out) == before


def test_force_replaces_the_pki_and_its_stale_stations(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    assert main(["certs", "--out", str(out), "--station", "OLD"]) == 0
    before = fingerprints(out)
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["certs", "--out", str(out), "--station", "NEW", "--force"]) == 0
    after = fingerprints(out)
    assert sorted(path.name for path in (out / "stations").iterdir()) == ["NEW.key", "NEW.pem"]
    assert set(after) - set(before) == {"stations/NEW.pem"} and set(before) - set(after) == {"stations/OLD.pem"}
    assert all(after[path] != before[path] for path in after.keys() & before.keys())  # every certificate is new
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"  # only what the manifest listed goes


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--station", "../escape"], "error: station id '../escape': expected 1-64 letters"),
        (
            ["--station", "192.168.1.1"],
            "error: station id '192.168.1.1': a charge point's CN must not be an IP address",
        ),
        (["--host", "wss://csms.example.com/ocpp"], "error: host 'wss://csms.example.com/ocpp': expected a host name"),
        (["--cpo-name", ""], "error: CPO name '': expected 1-64 characters"),
    ],
)
def test_bad_arguments_get_one_line_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    out = tmp_path / "certs"
    assert main(["certs", "--out", str(out), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith(message) and error.count("\n") == 1
    assert not out.exists()


def test_a_folder_that_cannot_be_written_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["certs", "--out", str(blocker / "certs")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: cannot write {blocker / 'certs'}") and error.count("\n") == 1


def test_the_console_command_lists_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "certs", "--help"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    for option in ("--out", "--host", "--cpo-name", "--station", "--force"):
        assert option in result.stdout


def test_the_readme_names_every_file_of_the_layout(test_pki: PkiFiles) -> None:
    readme = (ROOT / "certs" / "README.md").read_text(encoding="utf-8")
    for pair in test_pki.all_files():
        name = pair.certificate.relative_to(test_pki.folder).as_posix()
        shown = name.replace("stations/CP_1", "stations/<id>")
        assert f"`{shown}`" in readme, name
    assert "`manifest.json`" in readme and "Test material only" in readme


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs the git checkout")
def test_git_ignores_the_generated_files_but_not_the_readme() -> None:
    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0

    assert ignored("certs/ca.key") and ignored("certs/stations/CP_1.pem") and ignored("certs/manifest.json")
    assert not ignored("certs/README.md")
