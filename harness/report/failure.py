"""How a failure reads (design §4): the step, the message, the rule, expected vs actual, the last frames
(``>`` sent, ``<`` received, ``*`` connection event), the trace and the command that reproduces it. One
rendering, shared by the Markdown and JUnit writers and the terminal."""

from __future__ import annotations

from harness.results import ScenarioResult, Verdict, WireRecord
from ocppj.timefmt import format_time

MAX_FRAME_CHARS = 2000


def frame_line(record: WireRecord, *, max_chars: int | None = MAX_FRAME_CHARS) -> str:
    """``> 20:53:32.486Z [2,"1","Authorize",{"idTag":"X"}]`` (time of day, UTC).

    Line breaks inside the frame are shown escaped so every frame stays one line behind its direction mark; a
    frame longer than ``max_chars`` is cut with a pointer to the trace, which keeps the exact text.
    """
    text = record.text.replace("\r", "\\r").replace("\n", "\\n")
    if max_chars is not None and len(text) > max_chars:
        text = f"{text[:max_chars]}… ({len(text) - max_chars} more characters in the trace)"
    return f"{record.direction} {format_time(record.at)[11:]} {text}"


def one_line(text: str | None) -> str:
    """The first non-blank line of ``text``, or ``""``."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def unexpected_pass_text(result: ScenarioResult) -> str:
    return (
        f"unexpected pass: the target declares this case a known deviation ({one_line(result.deviation)}) but it "
        "passed; remove the deviation from the target file"
    )


def summary_line(result: ScenarioResult) -> str:
    """One line saying why a result is not a plain PASS: its message, else its failed step; for an unexpected
    pass, that the declared deviation did not happen."""
    if result.unexpected_pass:
        return unexpected_pass_text(result)
    line = one_line(result.message) or one_line(result.failed_step)
    if result.expected_failure:
        return f"expected failure ({one_line(result.deviation)}): {line}"
    return line


def _hanging(prefix: str, value: str) -> list[str]:
    """``prefix`` + ``value`` with continuation lines of a multi-line value aligned under its first line."""
    head, *rest = value.splitlines() or [""]
    return [prefix + head] + [" " * len(prefix) + line for line in rest]


def _labelled(label: str, value: str, *, pad: int = 0) -> list[str]:
    return _hanging(f"{label}:{' ' * (1 + pad)}", value)


def failure_text(result: ScenarioResult) -> str:
    """The full explanation of a FAIL / ERROR / PARTIAL, as plain text::

        failed step: step 4 exchange Authorize (scenarios/core/TC_003_CSMS.yaml:12:5)
        message: Authorize answered Invalid for a valid idTag
        reference: OCPP 1.6 §4.2
        expected: idTagInfo.status == "Accepted"
        actual:   idTagInfo.status == "Invalid"
        warnings:
          - ...
        last frames (> sent, < received, * connection):
        > 20:53:32.486Z [2,"1","Authorize",{"idTag":"OCA_TOKEN_1"}]
        < 20:53:32.512Z [3,"1",{"idTagInfo":{"status":"Invalid"}}]
        trace: reports/traces/TC_003_CSMS.jsonl
        reproduce: ocpp-harness run --target ci/target.yaml -k TC_003_CSMS

    Lines whose value is missing are left out.
    """
    lines: list[str] = []
    if result.unexpected_pass:
        lines.append(unexpected_pass_text(result))
    elif result.expected_failure:
        lines += _labelled("expected failure", f"known deviation declared in the target: {result.deviation}")
    if result.failed_step:
        lines += _labelled("failed step", result.failed_step)
    if result.message:
        lines += _labelled("message", result.message)
    if result.reference:
        lines += _labelled("reference", result.reference)
    elif result.references and result.verdict is not Verdict.PASS:
        lines += _labelled("references", "; ".join(result.references))
    if result.expected is not None:
        lines += _labelled("expected", result.expected)
    if result.actual is not None:
        lines += _labelled("actual", result.actual, pad=len("expected") - len("actual"))
    if result.warnings:
        lines.append("warnings:")
        for warning in result.warnings:
            lines += _hanging("  - ", str(warning))
    if result.last_frames:
        lines.append("last frames (> sent, < received, * connection):")
        lines += [frame_line(record) for record in result.last_frames]
    if result.trace_path:
        lines.append(f"trace: {result.trace_path}")
    if result.reproduce:
        lines.append(f"reproduce: {result.reproduce}")
    return "\n".join(lines)
