"""SMPP command statuses and the errors of the SMS channel, defined once.

Two families of protocol error, as in h11:

- ``LocalProtocolError``: *we* broke a rule (submit while not bound, window full, a field
  that does not fit the PDU, an MO acknowledged twice). A bug or a misuse on our side.
- ``RemoteProtocolError``: the *peer* broke a rule (a PDU we cannot decode, a length outside
  the budget, an unknown command). It carries the command status we answer with, and
  whether the link can survive it.

Command statuses are plain ``int`` on the wire (SMSCs use vendor codes 0x400-0x4FF);
``CommandStatus`` names the ones the gateway reasons about.
"""

from __future__ import annotations

from enum import IntEnum


class CommandStatus(IntEnum):
    """SMPP 3.4 command_status values (section 5.1.3) the gateway names."""

    ROK = 0x00
    RINVMSGLEN = 0x01
    RINVCMDLEN = 0x02
    RINVCMDID = 0x03
    RINVBNDSTS = 0x04
    RALYBND = 0x05
    RSYSERR = 0x08
    RINVSRCADR = 0x0A
    RINVDSTADR = 0x0B
    RINVMSGID = 0x0C
    RBINDFAIL = 0x0D
    RINVPASWD = 0x0E
    RINVSYSID = 0x0F
    RMSGQFUL = 0x14
    RINVESMCLASS = 0x43
    RSUBMITFAIL = 0x45
    RINVSRCTON = 0x48
    RINVSRCNPI = 0x49
    RINVDSTTON = 0x50
    RINVDSTNPI = 0x51
    RINVSYSTYP = 0x53
    RTHROTTLED = 0x58
    RX_T_APPN = 0x64
    RX_P_APPN = 0x65
    RX_R_APPN = 0x66
    RINVOPTPARSTREAM = 0xC0
    ROPTPARNOTALLWD = 0xC1
    RINVPARLEN = 0xC2
    RMISSINGOPTPARAM = 0xC3
    RINVOPTPARAMVAL = 0xC4
    RDELIVERYFAILURE = 0xFE
    RUNKNOWNERR = 0xFF


# The SMSC asks us to slow down: pause and send the same submit again (Kannel, Jasmin).
_THROTTLING = frozenset({CommandStatus.RTHROTTLED, CommandStatus.RMSGQFUL})

# Worth another attempt later; every other non-zero status is a final rejection
# (Kannel's smpp_status_to_smscconn_failure_reason).
_TEMPORARY = _THROTTLING | {CommandStatus.RX_T_APPN, CommandStatus.RSYSERR}


def status_name(status: int) -> str:
    """``ESME_RTHROTTLED`` for 0x58, ``0x00000401`` for a vendor status."""
    try:
        return "ESME_" + CommandStatus(status).name
    except ValueError:
        return f"0x{status:08X}"


def is_throttling(status: int) -> bool:
    """The SMSC is over its rate or queue limit: slow down and retry the same PDU."""
    return status in _THROTTLING


def is_temporary(status: int) -> bool:
    """A failure that another attempt may cure (throttling, transient SMSC errors)."""
    return status in _TEMPORARY


class SmppError(Exception):
    """Base of every error raised by the ``sms`` SMPP stack."""


class LocalProtocolError(SmppError):
    """We asked for something the protocol or the session state does not allow."""


class RemoteProtocolError(SmppError):
    """The peer sent something we cannot accept.

    ``status`` is the command status to answer with; ``fatal`` says the byte stream can no
    longer be trusted (framing lost), so the link must be closed after answering.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int = CommandStatus.RSYSERR,
        sequence: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.sequence = sequence
        self.fatal = fatal


class SubmitAbortedError(SmppError):
    """The client stopped before a submit got a final answer; the message was not accepted."""
