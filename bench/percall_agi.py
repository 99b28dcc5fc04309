#!/usr/bin/env python3
"""The hotline as a classic AGI script: one Python process per call, started by ``AGI()``.

    exten => 1022,n,AGI(/opt/statusgw-bench/percall_agi.py)

What a hotline without the gateway runs: Asterisk forks this script for every call and talks
to it over stdin/stdout. It asks for the dossier code, reads it back, looks the dossier up
(an indexed query in a local SQLite file, as such scripts do against their database) and
speaks the status, issuing the same AGI commands as the gateway's dialogue, so Asterisk
plays the same prompts either way. The process lives as long as the call.

Standard library only: it runs with the Python of the Asterisk host (``bench/voice_vs_agi.py``
installs it into the benchmark's Asterisk root with its data).
"""

from __future__ import annotations

import sqlite3
import sys

DATA = "/opt/statusgw-bench/dossiers.sqlite"
PREFIX = "statusgw-ivr-test/vi/"
KEYS = "STATUSGW_KEYS"
MAX_CODE_DIGITS = 24
ATTEMPTS = 3


def send(command: str) -> str:
    sys.stdout.write(command + "\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line or line.startswith("HANGUP"):
        raise SystemExit(0)
    return line.strip()


def result_value(line: str) -> str:
    """``200 result=1 (...)`` -> ``(...)`` contents or the result itself."""
    if not line.startswith("200 "):
        raise SystemExit(0)  # the caller hung up (511) or the command failed
    if "(" in line and line.endswith(")"):
        return line[line.index("(") + 1 : -1]
    return line.partition("result=")[2]


def sounds(*names: str) -> str:
    return "&".join(PREFIX + name for name in names)


def ask(prompts: list[str], max_digits: int, timeout: str = "") -> tuple[str, str]:
    """Play the prompts while collecting keys; the Read status and the keys."""
    tail = f",,,{timeout}" if timeout else ""
    send(f"EXEC Read {KEYS},{sounds(*prompts)},{max_digits}{tail}")
    answer = result_value(send("GET FULL VARIABLE ${READSTATUS}:${" + KEYS + "}"))
    status, _, keys = answer.partition(":")
    return status, keys


def main() -> None:
    while sys.stdin.readline().strip():  # the agi_* environment, up to a blank line
        pass
    send('EXEC MSet "__STATUSGW_OUTCOME=abandoned,TIMEOUT(absolute)=630"')
    send('EXEC MSet "TIMEOUT(response)=8,TIMEOUT(digit)=3"')
    question = ["ivr/greeting", "ivr/enter_code"]
    for _ in range(ATTEMPTS):  # nothing keyed, or not confirmed: ask again, as the gateway does
        _, digits = ask(question, MAX_CODE_DIGITS)
        question = ["ivr/enter_code"]
        if not digits:
            continue
        read_back = ["ivr/you_entered", *(f"digits/{d}" for d in digits)]
        _, choice = ask([*read_back, "sym/stop", "ivr/confirm_or_reenter"], 1, "120")
        if choice == "1":
            break
    else:
        return
    database = sqlite3.connect(DATA)
    row = database.execute(
        "SELECT code, status, speech FROM dossier WHERE digits = ?", (digits,)
    ).fetchone()
    database.close()
    if row is None:
        send(f"EXEC Playback {sounds('ivr/not_found')}")
        return
    code, status, speech = row
    variables = f"__STATUSGW_DOSSIER={code},__STATUSGW_STATUS={status},__STATUSGW_OUTCOME=read"
    send(f'EXEC MSet "{variables}"')
    ask([*speech.split("&"), "ivr/menu"], 1, "120")  # speech: status_is, status/..., due date


if __name__ == "__main__":
    main()
