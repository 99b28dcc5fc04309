"""Dialogue commands as AsyncAGI command lines, and AGI results as dialogue answers (pure).

What the lines are, and why (each seen on the test Asterisk 22):

- Prompt and collect is ``EXEC Read STATUSGW_KEYS,f1&f2&f3,max[,,,timeout]``: Read plays an
  ``&`` list and a key in *any* fragment stops the prompt and starts the entry (``GET DATA``
  takes one file only). It is queued together with ``GET FULL VARIABLE
  ${READSTATUS}:${STATUSGW_KEYS}``, which runs the moment Read ends, so the answer costs no
  extra wait: ``200 result=1 (TIMEOUT:12345)``, ``(OK:)`` for a lone ``#``.
- Read given a timeout uses it for the first key and between keys. Without one it uses the
  channel's ``TIMEOUT(response)`` and ``TIMEOUT(digit)``: that is how code entry gets a long
  first-digit and a short inter-digit timeout in one command.
- Several variables are set by one ``EXEC MSet "a=1,b=2"`` (functions such as
  ``TIMEOUT(absolute)`` included) when every value is plain; a value with spaces or commas
  (what the caller heard) gets its own quoted ``SET VARIABLE``.
- AGI ``EXEC`` does not expand ``${…}`` in its arguments, and Asterisk discards an AMI line
  longer than 1024 bytes ("Line too long"). A prompt list too long for one line plays its head
  with ``EXEC Playback`` and collects during the tail, so the entry still starts at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr.ami.agiresult import AgiResult
from ivr.commands import Collect, Keys, Play, SetVariables

KEYS_VARIABLE = "STATUSGW_KEYS"
# Applications this module runs through AGI EXEC. While one runs, CoreShowChannels names it
# (not AGI) as the channel's application, though the channel is still inside AsyncAGI.
EXEC_APPLICATIONS = frozenset({"Read", "Playback", "MSet"})
READ_ANSWER = f"GET FULL VARIABLE ${{READSTATUS}}:${{{KEYS_VARIABLE}}}"
BREAK = "ASYNCAGI BREAK"
HANGUP = "HANGUP"
# "Command: " plus the command must fit Asterisk's 1024-byte AMI line, with a margin.
MAX_COMMAND_BYTES = 1000

_MSET = 'EXEC MSet "'
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.:>/@+-]*")
_PROMPT_NAME = re.compile(r"[A-Za-z0-9_./-]+")


class PromptTooLongError(ValueError):
    """One prompt name alone does not fit an AMI line; a catalogue bug, not a caller's."""


@dataclass(frozen=True, slots=True)
class DigitTimeouts:
    """``TIMEOUT(response)`` and ``TIMEOUT(digit)`` as last set on a channel (seconds)."""

    first: float
    between: float


def quote(argument: str) -> str:
    """An AGI argument in double quotes, backslash-escaped (res_agi's parser)."""
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def sound(prefix: str, prompt_id: str) -> str:
    """The name Asterisk plays a prompt by: ``<prefix>/vi/<id>``."""
    name = f"{prefix.strip('/')}/vi/{prompt_id}"
    if not _PROMPT_NAME.fullmatch(name):
        raise PromptTooLongError(f"prompt name {name!r} is not a plain relative path")
    return name


def set_lines(command: SetVariables) -> list[str]:
    plain = [(k, v) for k, v in command.values if _PLAIN_VALUE.fullmatch(v)]
    lines = []
    if plain:
        lines += _mset_lines(plain)
    lines += [f"SET VARIABLE {k} {quote(v)}" for k, v in command.values if (k, v) not in plain]
    return lines


def _mset_lines(pairs: list[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    batch: list[str] = []
    for name, value in pairs:
        candidate = [*batch, f"{name}={value}"]
        if batch and _too_long(f'EXEC MSet "{",".join(candidate)}"'):
            lines.append(f'EXEC MSet "{",".join(batch)}"')
            candidate = [f"{name}={value}"]
        batch = candidate
    lines.append(f'EXEC MSet "{",".join(batch)}"')
    return lines


def play_lines(command: Play, prefix: str) -> list[str]:
    """Playback of an ``&`` list, split over several commands if the line is too long."""
    names = [sound(prefix, p) for p in command.prompts]
    return [f"EXEC Playback {group}" for group in _groups_of(names, "EXEC Playback ")]


def collect_lines(
    command: Collect, prefix: str, current: DigitTimeouts | None
) -> tuple[list[str], DigitTimeouts | None]:
    """The lines of one prompt-and-collect, and the channel's digit timeouts afterwards."""
    lines: list[str] = []
    one_timeout = (
        command.max_digits == 1 or command.first_digit_timeout == command.inter_digit_timeout
    )
    if one_timeout:
        options = f",{command.max_digits},,,{_seconds(command.first_digit_timeout)}"
    else:
        wanted = DigitTimeouts(command.first_digit_timeout, command.inter_digit_timeout)
        if wanted != current:
            lines.append(
                f'EXEC MSet "TIMEOUT(response)={_seconds(wanted.first)},'
                f'TIMEOUT(digit)={_seconds(wanted.between)}"'
            )
            current = wanted
        options = f",{command.max_digits}"
    read_head = f"EXEC Read {KEYS_VARIABLE},"
    names = [sound(prefix, p) for p in command.prompts]
    tail: list[str] = []
    while names and not _too_long(read_head + "&".join([names[-1], *tail]) + options):
        tail.insert(0, names.pop())
    if names:
        lines += [f"EXEC Playback {g}" for g in _groups_of(names, "EXEC Playback ")]
    lines.append(read_head + "&".join(tail) + options)
    lines.append(READ_ANSWER)
    return lines, current


def merge_msets(lines: list[str]) -> list[str]:
    """Adjacent ``EXEC MSet`` lines as one (one AMI action less each), within the line limit."""
    merged: list[str] = []
    for line in lines:
        previous = merged[-1] if merged else ""
        if line.startswith(_MSET) and previous.startswith(_MSET):
            joined = f"{previous[:-1]},{line[len(_MSET) :]}"
            if not _too_long(joined):
                merged[-1] = joined
                continue
        merged.append(line)
    return merged


def keys_from(result: AgiResult) -> Keys | None:
    """The keys from ``READ_ANSWER``'s result; ``None`` if Read did not collect (hangup, error)."""
    status, _, digits = result.data.partition(":")
    if not result.ok or status not in ("OK", "TIMEOUT"):
        return None
    return Keys(digits, timed_out=status == "TIMEOUT")


def _groups_of(names: list[str], head: str) -> list[str]:
    groups: list[str] = []
    current: list[str] = []
    for name in names:
        if _too_long(head + name):
            raise PromptTooLongError(f"prompt name {name!r} does not fit an AMI line")
        if current and _too_long(head + "&".join([*current, name])):
            groups.append("&".join(current))
            current = []
        current.append(name)
    if current:
        groups.append("&".join(current))
    return groups


def _too_long(command: str) -> bool:
    return len(command.encode()) > MAX_COMMAND_BYTES


def _seconds(value: float) -> str:
    return f"{value:g}"
