"""pytest plugin: ``pytest scenarios/ --target FILE`` runs scenario files as test items through the same
:class:`~harness.session.Session` the CLI uses. Registered through the ``pytest11`` entry point.

Scenario files are YAML files under a folder named ``scenarios`` (files under ``_states`` are reusable states,
not tests). Each case gets a marker per certification profile (``-m core``) and its id as name (``-k TC_023``).
``--with-shipped`` collects the suite shipped with ocpp-harness as well; without ``--target`` the bundled CSMS is
the target (:mod:`harness.suite` says where both are).

A known deviation declared in the target file becomes ``xfail(strict=True, raises=ScenarioFailure)``: the case
FAILing is XFAIL, the case PASSing is XPASS(strict), a failure of the run; an ERROR still fails. Under
``--alluredir`` (allure-pytest) each case carries its Allure labels as markers, one Allure step per scenario
step and its wire trace as an attachment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config import Target, load_target
from harness.outcomes import ScenarioError, TargetError
from harness.results import ScenarioResult, Verdict
from harness.scenario.model import PROFILES
from harness.session import Case, Session, expand, new_run_id, shuffled
from harness.suite import LOCAL_DEFAULT_TARGET, default_target, shipped_scenarios

_SESSION = pytest.StashKey["Session | None"]()
_TARGET = pytest.StashKey[Target]()


def profile_marker(profile: str) -> str:
    """``LocalAuthListManagement`` -> ``local_auth_list_management``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", profile).lower()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ocpp-harness", "OCPP 1.6J conformance scenarios")
    group.addoption(
        "--target",
        default=None,
        help=f"target file (default: {LOCAL_DEFAULT_TARGET} if the current directory has one, else the shipped one: "
        "the bundled CSMS, started in-process)",
    )
    group.addoption(
        "--with-shipped",
        action="store_true",
        default=False,
        help="collect the scenarios shipped with ocpp-harness as well as the given paths",
    )
    group.addoption("--ocpp-reports", default="reports", help="report folder; a run writes <folder>/<run-id>/")
    group.addoption(
        "--ocpp-shuffle",
        type=int,
        default=None,
        metavar="SEED",
        help="run the scenario items in an order decided by SEED (other tests keep their places)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """``--with-shipped`` adds the shipped suite to the paths on the command line, the place pytest documents for
    changing them; the root directory stays the one of the paths the user gave."""
    if early_config.known_args_namespace.with_shipped:
        args.append(str(shipped_scenarios()))


def pytest_configure(config: pytest.Config) -> None:
    for profile in PROFILES:
        config.addinivalue_line("markers", f"{profile_marker(profile)}: OCPP 1.6 {profile} certification profile")
    config.addinivalue_line("markers", "aq1: additional question AQ-1 (BootNotification Pending/Rejected)")
    config.stash[_SESSION] = None


def _target(config: pytest.Config) -> Target:
    if _TARGET not in config.stash:
        option = config.getoption("--target")
        path = option or str(default_target())
        try:
            config.stash[_TARGET] = load_target(path)
        except TargetError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[_TARGET]


def _session(config: pytest.Config) -> Session:
    session = config.stash[_SESSION]
    if session is None:
        run_id = new_run_id()
        out_dir = Path(config.getoption("--ocpp-reports")) / run_id
        session = Session(
            _target(config),
            out_dir=out_dir,
            run_id=run_id,
            reproduce=lambda case: f"pytest {case.scenario.path} --target {_target(config).path} -k '{case.id}'",
        )
        session.__enter__()
        config.stash[_SESSION] = session
    return session


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--ocpp-shuffle SEED``: the scenario items change places among themselves, in the order of
    :func:`harness.session.shuffled`; the ``ocpp-harness run --shuffle`` of the same cases is the same order."""
    seed = config.getoption("--ocpp-shuffle")
    if seed is None:
        return
    slots = [index for index, item in enumerate(items) if isinstance(item, ScenarioItem)]
    by_case = {id(item.case): item for item in items if isinstance(item, ScenarioItem)}
    order = shuffled([item.case for item in items if isinstance(item, ScenarioItem)], seed)
    for index, case in zip(slots, order, strict=True):
        items[index] = by_case[id(case)]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    running = session.config.stash.get(_SESSION, None)
    if running is not None:
        try:
            if running.results:
                running.finish()
        finally:
            running.__exit__(None, None, None)
            session.config.stash[_SESSION] = None


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    if config.getoption("--target") is None:
        return None
    target = _target(config)
    return [f"ocpp-harness target: {target.name} ({target.path}); profiles: {', '.join(target.profiles)}"]


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    parts = file_path.parts
    if "scenarios" not in parts or any(part.startswith("_") for part in parts[parts.index("scenarios") :]):
        return None
    return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.scenario.loader import load_scenario

        try:
            scenario = load_scenario(_relative(self.path, self.config.invocation_params.dir))
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        target = _target(self.config)
        for case in expand([scenario], target):
            item = ScenarioItem.from_parent(self, name=case.id, case=case)
            item.add_marker(profile_marker(scenario.profile))
            if scenario.additional_question == "AQ-1":
                item.add_marker("aq1")
            deviation = target.deviation(case.id, scenario.id)
            if deviation is not None:
                item.add_marker(
                    pytest.mark.xfail(
                        reason=f"known deviation: {deviation.reason}", strict=True, raises=ScenarioFailure
                    )
                )
            for marker in _allure_markers(case, deviation.reason if deviation else None):
                item.add_marker(marker)
            yield item


def _allure_markers(case: Case, deviation: str | None) -> list[pytest.MarkDecorator]:
    """The case's Allure labels as allure-pytest markers (``allure.label`` used as a decorator); none when
    allure-pytest is not loaded."""
    try:
        import allure
    except ImportError:
        return []
    from harness.report.allure import case_labels

    scenario = case.scenario
    labels = case_labels(
        scenario_id=scenario.id,
        title=scenario.title,
        profile=scenario.profile,
        references=scenario.references,
        additional_question=scenario.additional_question,
        deviation=deviation,
    )
    markers = [allure.label(name, value) for name, value in labels]
    return [marker for marker in markers if isinstance(marker, pytest.MarkDecorator)]


def _relative(path: Path, start: Path) -> Path:
    """Paths in messages and reproduce commands are relative to where pytest was started, when they can be."""
    try:
        return path.relative_to(start)
    except ValueError:
        return path


class ScenarioOutcome(Exception):
    """Carries a FAIL or ERROR result to :meth:`ScenarioItem.repr_failure`."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.message)
        self.result = result


class ScenarioFailure(ScenarioOutcome):
    """The CSMS broke a rule (FAIL): what a declared deviation expects."""


class ScenarioHarnessError(ScenarioOutcome):
    """The harness or the environment broke (ERROR): never an expected failure."""


class ScenarioItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = _session(self.config).run(self.case)
        if self.config.getoption("allure_report_dir", None):
            from harness.report.allure import report_to_allure_pytest

            report_to_allure_pytest(result)
        if result.verdict is Verdict.NOT_APPLICABLE:
            pytest.skip(result.message or "not applicable")
        if result.verdict is Verdict.FAIL:
            raise ScenarioFailure(result)
        if result.verdict is Verdict.ERROR:
            raise ScenarioHarnessError(result)
        for warning in result.warnings:
            self.warn(pytest.PytestWarning(f"{self.case.id}: {warning}"))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioOutcome):
            from harness.report.failure import failure_text

            return failure_text(excinfo.value.result)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.case.id}: {self.case.scenario.title}"
