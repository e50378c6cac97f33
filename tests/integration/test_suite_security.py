"""The security scenarios (scenarios/security) against a bundled CSMS that admits every connection: one that takes
any password or none, any username, the old password after a change, plain ws for a profile-2/3 station, any
client certificate or none, and TLS 1.1. Each case that checks a refusal must FAIL against it, naming the
connection it upgraded. (Against the lenient and the strict bundled CSMS, over real TLS on loopback, the cases
run with the whole suite: test_suite_bundled.py, test_suite_strict.py.)

The broken CSMS is the bundled one with its admission rules switched off (:class:`csms.security.Admission`) and
its TLS listeners asking for no client certificate and taking TLS 1.0 and 1.1 (:func:`csms.pki.server_ssl_context`).
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csms import pki
from csms.security import Admission
from harness.config import load_target
from harness.results import Verdict
from harness.scenario.loader import load_scenarios
from harness.session import Case, Session

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = load_target(ROOT / "targets" / "bundled.yaml")
SCENARIOS = {s.id: s for s in load_scenarios([ROOT / "scenarios" / "security"])[0]}

# case id -> the step kind that must fail against a CSMS that admits every connection
BROKEN_SECURITY = {
    "SEC_NO_CREDENTIALS": "connect",
    "SEC_WRONG_PASSWORD": "connect",
    "SEC_WRONG_USERNAME": "connect",
    "SEC_OLD_PASSWORD": "connect",
    "SEC_PLAIN_WS_SP2": "connect",
    "SEC_PLAIN_WS_SP3": "connect",
    "SEC_NO_CLIENT_CERTIFICATE": "connect",
    "SEC_UNTRUSTED_CERTIFICATE": "connect",
    "SEC_EXPIRED_CERTIFICATE": "connect",
    "SEC_WRONG_CN_CERTIFICATE": "connect",
    "SEC_TLS_1_1": "connect",
    "TC_085_CSMS": "connect",
    "TC_083_CSMS": "connect",
}

# The message-level security cases (certificates, logs, signed firmware, TLS properties, subprotocol): a broken
# CSMS for each (one that signs a CSR with the wrong issuer, computes other hash data, ...) is not written yet.
SECURITY_WITHOUT_BROKEN_VARIANT = {
    "TC_073_CSMS",
    "TC_074_CSMS",
    "TC_075_1_CSMS",
    "TC_075_2_CSMS",
    "TC_076_SHA256_CSMS",
    "TC_076_SHA384_CSMS",
    "TC_076_SHA512_CSMS",
    "TC_077_CSMS",
    "TC_078_CSMS",
    "TC_079_CSMS",
    "TC_080_CSMS",
    "TC_081_CSMS",
    "TC_086_CSMS",
    "TC_087_CSMS",
    "TC_088_CSMS",
}


def test_the_security_cases_are_declared_and_served_over_tls(tmp_path: Path) -> None:
    assert {s.profile for s in SCENARIOS.values()} == {"Security"}
    ids = set(SCENARIOS)
    octt = {"TC_073", "TC_074", "TC_075_1", "TC_075_2", "TC_077", "TC_078", "TC_079", "TC_080", "TC_081", "TC_083"}
    octt |= {"TC_085", "TC_086", "TC_087", "TC_088", *(f"TC_076_{alg}" for alg in ("SHA256", "SHA384", "SHA512"))}
    assert {f"{name}_CSMS" for name in octt} <= ids
    for name in ("bundled.yaml", "bundled-strict.yaml"):
        target = load_target(ROOT / "targets" / name)
        assert "Security" in target.profiles
        assert {s.security_profile for s in target.stations.values()} >= {1, 2, 3}
    with Session(BUNDLED, out_dir=tmp_path / "run") as session:
        endpoints = session.target.endpoints
        assert endpoints[2].ws_url.startswith("wss://") and endpoints[3].ws_url.startswith("wss://")
        assert endpoints[2].ca_file is not None and Path(endpoints[2].ca_file).is_file()
        assert session.target.station("sp3").client_certificate is not None
        summary = str(session.target.summary())
        for station in session.target.stations.values():
            assert station.basic_auth_password is None or station.basic_auth_password not in summary


def _admit_everyone(self: Admission, request: Any, station: Any) -> Any:
    async def none() -> None:
        return None

    return none()


def _lax_context(original: Any) -> Any:
    def context(certificates: Any, *, client_ca: Path | None = None) -> ssl.SSLContext:
        made: ssl.SSLContext = original(certificates, client_ca=None)
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
            made.minimum_version = ssl.TLSVersion.TLSv1
        made.set_ciphers("DEFAULT:@SECLEVEL=0")
        return made

    return context


@pytest.fixture(scope="module")
def admits_everyone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Admission, "admit", _admit_everyone)
        patch.setattr(pki, "server_ssl_context", _lax_context(pki.server_ssl_context))
        with Session(BUNDLED, out_dir=tmp_path_factory.mktemp("broken-security") / "run") as session:
            yield session


@pytest.mark.parametrize("case_id", sorted(BROKEN_SECURITY))
def test_a_security_case_fails_against_a_csms_that_admits_every_connection(
    admits_everyone: Session, case_id: str
) -> None:
    result = admits_everyone.run(Case(SCENARIOS[case_id]))
    assert result.verdict is Verdict.FAIL, f"{result.failed_step}: {result.message}"
    assert "the CSMS upgraded a connection" in (result.message or ""), result.message
    assert f"({BROKEN_SECURITY[case_id]} " in (result.failed_step or ""), result.failed_step
