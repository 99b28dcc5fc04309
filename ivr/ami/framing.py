"""AMI framing: bytes in, ``AmiMessage`` out; actions out as text (pure; no I/O).

An AMI message is ``Key: Value`` lines ending in ``\\r\\n`` and closed by an empty line. The
server starts with a one-line banner (``Asterisk Call Manager/11.0.0``) that is not a message.
Header parsing is panoramisk's (``Message.from_line``: repeated headers, ``Response:
Follows`` bodies, URL-decoded ``Result``). What this module adds, and why:

- Bytes are decoded with an incremental UTF-8 decoder. panoramisk decodes each TCP read on
  its own with ``errors='ignore'``, so a character split between two reads vanishes
  (``Nguyễn`` arrived as ``Nguyn``).
- A message may not grow past ``MAX_MESSAGE_CHARS`` without its closing empty line: a peer
  that never ends a message would otherwise grow the buffer forever.
- Header values are refused if they contain CR or LF: a caller name or a digit string that
  carried a line break would otherwise inject headers, or whole actions, into the session.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from panoramisk.message import Message

from ivr.ami.errors import AmiError, AmiFailure

BANNER_PREFIX = "Asterisk Call Manager/"
EOL = "\r\n"
MAX_MESSAGE_CHARS = 1_000_000  # far above any real message (a long CLI output is ~100 kB)

HeaderValue = str | Sequence[str]


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One response or event. Names are matched without regard to case."""

    fields: Mapping[str, tuple[str, ...]] = field(hash=False)  # lower-case name -> values
    body: str = ""  # the text of a ``Response: Follows`` (Asterisk <= 13 CLI output)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def all(self, name: str) -> tuple[str, ...]:
        return self.fields.get(name.lower(), ())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.fields

    @property
    def event(self) -> str:
        return self.get("event")

    @property
    def response(self) -> str:
        return self.get("response")

    @property
    def action_id(self) -> str:
        return self.get("actionid")

    @property
    def is_success(self) -> bool:
        return self.response.lower() in ("success", "follows", "goodbye")

    @classmethod
    def of(cls, *pairs: tuple[str, str], body: str = "") -> AmiMessage:
        fields: dict[str, tuple[str, ...]] = {}
        for name, value in pairs:
            fields[name.lower()] = (*fields.get(name.lower(), ()), value)
        return cls(fields, body)


def _from_panoramisk(message: Message) -> AmiMessage:
    fields: dict[str, tuple[str, ...]] = {}
    body = ""
    for name, value in message.items():
        if name.lower() == "content":  # panoramisk keeps the Follows body under this name
            body = str(value)
        elif isinstance(value, list):
            fields[name.lower()] = tuple(str(v) for v in value)
        else:
            fields[name.lower()] = (str(value),)
    return AmiMessage(fields, body)


class FrameDecoder:
    """Feed received bytes; get the complete messages they finish, in order."""

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._banner_pending = True
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[AmiMessage]:
        self._buffer += self._utf8.decode(data)
        if self._banner_pending and not self._take_banner():
            self._check_size()
            return []
        *blocks, self._buffer = self._buffer.split(EOL + EOL)
        self._check_size()
        messages = []
        for block in blocks:
            message = Message.from_line(block.strip())
            if message is not None:
                messages.append(_from_panoramisk(message))
        return messages

    def _check_size(self) -> None:
        if len(self._buffer) > MAX_MESSAGE_CHARS:
            raise AmiError(
                AmiFailure.PROTOCOL, f"message longer than {MAX_MESSAGE_CHARS} characters"
            )

    def _take_banner(self) -> bool:
        """Strip the banner line if there is one; False while it may still be arriving."""
        if len(self._buffer) < len(BANNER_PREFIX) and BANNER_PREFIX.startswith(self._buffer):
            return False
        if self._buffer.startswith(BANNER_PREFIX):
            line, sep, rest = self._buffer.partition(EOL)
            if not sep:
                return False
            self.banner, self._buffer = line, rest
        self._banner_pending = False
        return True


_HEADER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_()-]*$")


def encode_action(name: str, action_id: str, headers: Mapping[str, HeaderValue]) -> bytes:
    """One action as it goes on the wire; a sequence value repeats the header."""
    lines = [f"Action: {name}", f"ActionID: {action_id}"]
    for key, value in headers.items():
        values = [value] if isinstance(value, str) else list(value)
        lines.extend(f"{key}: {item}" for item in values)
    for line in lines:
        if "\r" in line or "\n" in line:
            raise AmiError(AmiFailure.INVALID, f"line break in an AMI header: {line[:40]!r}")
        if not _HEADER_NAME.match(line.partition(": ")[0]):
            raise AmiError(AmiFailure.INVALID, f"bad AMI header name: {line[:40]!r}")
    return (EOL.join(lines) + EOL + EOL).encode("utf-8")
