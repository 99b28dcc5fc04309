"""Budgets of the hotline, written down in one place.

Times are seconds. Settings (``[ivr]``) override the ones a centre may want to tune (digit
timeouts, tries, call length, heartbeat); the rest are properties of the dialogue or of
Asterisk that a deployment has no reason to change.

Why these numbers:

- Citizens read the dossier code from a paper receipt, so the first key may take a while
  (8 s), but once they type, a pause of 3 s means they are done (or lost).
- A national dossier code has 19 digits on the keypad; Asterisk's collect commands stop at
  their maximum, and a ``#`` typed after a full buffer would leak into the next prompt, so the
  maximum is well above the longest code.
- The caller must never sit in silence because of us: a lookup that runs past
  ``WAIT_PROMPT_AFTER`` gets a short "xin chờ", and one that runs past ``LOOKUP_DEADLINE`` is
  treated as unavailable.
- AsyncAGI looks for queued commands about every 100 ms on a silent channel; commands queued
  together run back to back, so a step queues everything it needs at once.
"""

from __future__ import annotations

from typing import Final

# --- keypad input -------------------------------------------------------------------------
FIRST_DIGIT_TIMEOUT: Final = 8.0  # code entry: time to the first key
INTER_DIGIT_TIMEOUT: Final = 3.0  # code entry: pause that ends the entry
MENU_TIMEOUT: Final = 6.0  # one-key menus: time to the key, counted after the prompt ends
MAX_CODE_DIGITS: Final = 24  # above the 19 digits of a national code
MIN_CODE_DIGITS: Final = 6  # fewer cannot single out a dossier; said to be invalid
MAX_TRIES: Final = 3  # invalid or missing input at one step before the operator
MAX_OFFERED: Final = 3  # dossiers offered by caller number ("bấm 1 … bấm 3")
MAX_LOOKUPS_PER_CALL: Final = 6  # dossiers one call may ask about (enumeration guard)

# --- waiting on the gateway ---------------------------------------------------------------
WAIT_PROMPT_AFTER: Final = 0.8  # lookup still running: say "xin chờ"
WAIT_PROMPT_REPEAT: Final = 5.0  # ... and again this often (the prompt lasts about 2.5 s)
LOOKUP_DEADLINE: Final = 4.0  # lookup still running: give up, say the system is busy
PHONE_MATCH_DEADLINE: Final = 1.0  # caller-number lookup before the greeting; then greet anyway
MAX_DEAD_AIR: Final = 3.0  # longest silence the gateway may cause while the caller waits on it

# --- AGI commands -------------------------------------------------------------------------
CONTROL_COMMAND_TIMEOUT: Final = 5.0  # SET VARIABLE, GET VARIABLE, HANGUP, ASYNCAGI BREAK
PLAY_COMMAND_TIMEOUT: Final = 90.0  # a prompt with no input
COLLECT_COMMAND_TIMEOUT: Final = 150.0  # a prompt plus all the time the caller has to type

# --- the whole call -----------------------------------------------------------------------
MAX_CALL_SECONDS: Final = 600  # the gateway ends the automated stage politely after this
CAP_GRACE: Final = 30  # the dialplan's TIMEOUT(absolute) backstop fires this much later

# --- the AMI link ---------------------------------------------------------------------------
# Asterisk answers one session's actions in order, so under a burst of calls a Ping waits
# behind thousands of AGI actions (seconds at 800 callers pressing a key at once). A busy link
# is not a dead one: the hotline's watchdog waits this long before it drops the link (and
# with it every command in flight). A dead gateway is caught sooner by the heartbeat.
AMI_PING_TIMEOUT: Final = 10.0

# --- guard rails ----------------------------------------------------------------------------
HEARTBEAT_INTERVAL: Final = 5.0  # the gateway refreshes the dialplan's heartbeat this often
HEARTBEAT_STALE: Final = 15  # older than this, the dialplan sends callers to the operators
RECOVERY_SCAN_TIMEOUT: Final = 10.0  # CoreShowChannels after a reconnect
SMS_SEND_TIMEOUT: Final = 10.0  # handing the result to the SMS channel
