"""AGI result lines, parsed into a typed ``AgiResult`` (pure; no I/O).

Asterisk answers every AGI command with one line (res_agi.c), URL-decoded already by the
time it gets here:

- ``200 result=<n>[ (<data>)][ key=value ...]``: the command ran. ``result=-1`` means the
  application failed or the caller hung up during it. ``<data>`` is ``timeout`` when a
  collecting command stopped waiting, or the value of ``GET VARIABLE``; ``endpos=`` follows
  playback commands. ``GET DATA`` puts the keys in ``result``: ``200 result=987``,
  ``200 result=`` (only ``#``), ``200 result=9 (timeout)``.
- ``510 Invalid or unknown command``; ``511 Command Not Permitted on a dead channel or
  intercept routine``; ``520 Invalid command syntax`` (possibly ``520-`` with a usage text
  over several lines).
- ``HANGUP`` is written between results when the caller hangs up (FastAGI only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class AgiOutcome(StrEnum):
    OK = "ok"  # 200 and result is not -1
    FAILED = "failed"  # 200 result=-1: the application failed or the caller hung up
    INVALID_COMMAND = "invalid_command"  # 510
    DEAD_CHANNEL = "dead_channel"  # 511
    USAGE = "usage"  # 520
    HANGUP = "hangup"  # a bare HANGUP line
    UNKNOWN = "unknown"  # anything else Asterisk might send


_CODE_OUTCOMES: Mapping[int, AgiOutcome] = {
    510: AgiOutcome.INVALID_COMMAND,
    511: AgiOutcome.DEAD_CHANNEL,
    520: AgiOutcome.USAGE,
}
_CODE = re.compile(r"^(\d{3})(?:[ -]|$)")
_RESULT = re.compile(r"^200 result=(\S*)(?: \((.*)\))?(?: (.*))?$")
_EXTRA = re.compile(r"(\w+)=(\S*)")


@dataclass(frozen=True, slots=True)
class AgiResult:
    """One AGI command's outcome. ``result`` and ``data`` are empty when absent."""

    line: str
    code: int
    outcome: AgiOutcome
    result: str = ""
    data: str = ""
    extras: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        return self.outcome is AgiOutcome.OK

    @property
    def timed_out(self) -> bool:
        """A collecting command stopped waiting for keys (``(timeout)``)."""
        return self.data == "timeout"

    @property
    def number(self) -> int | None:
        """``result`` as an integer (a key's ASCII code, a channel state), if it is one."""
        try:
            return int(self.result)
        except ValueError:
            return None


def parse_agi_result(text: str) -> AgiResult:
    """Parse one AGI answer (the first line decides; a 520 usage text may follow)."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if line == "HANGUP":
        return AgiResult(line, 0, AgiOutcome.HANGUP)
    code_match = _CODE.match(line)
    if code_match is None:
        return AgiResult(line, 0, AgiOutcome.UNKNOWN)
    code = int(code_match.group(1))
    if code != 200:
        return AgiResult(line, code, _CODE_OUTCOMES.get(code, AgiOutcome.UNKNOWN))
    match = _RESULT.match(line)
    if match is None:
        return AgiResult(line, code, AgiOutcome.UNKNOWN)
    result, data, rest = match.group(1), match.group(2) or "", match.group(3) or ""
    outcome = AgiOutcome.FAILED if result == "-1" else AgiOutcome.OK
    return AgiResult(line, code, outcome, result, data, dict(_EXTRA.findall(rest)))
