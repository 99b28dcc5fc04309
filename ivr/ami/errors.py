"""The one error type of the AMI layer.

Every failure of the link, of an action or of an AsyncAGI command surfaces as ``AmiError``;
``reason`` says which, so callers match on a stable value instead of parsing text.
"""

from __future__ import annotations

from enum import StrEnum


class AmiFailure(StrEnum):
    LOGIN_REFUSED = "ami.login_refused"  # wrong user or secret, or the host is not permitted
    UNREACHABLE = "ami.unreachable"  # no TCP connection, or no banner/login answer in time
    DISCONNECTED = "ami.disconnected"  # the link was down, or went down while waiting
    TIMEOUT = "ami.timeout"  # no answer within the action's or command's budget
    REFUSED = "ami.refused"  # Asterisk answered ``Response: Error`` (or Originate failed)
    CHANNEL_GONE = "ami.channel_gone"  # the channel left AsyncAGI or hung up before a result
    PROTOCOL = "ami.protocol"  # the peer broke the framing (e.g. an oversized message)
    INVALID = "ami.invalid"  # we were asked to send something the protocol cannot carry


class AmiError(Exception):
    """An AMI link, action or AsyncAGI command failed; ``reason`` says how."""

    def __init__(self, reason: AmiFailure, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
