"""The AMI link: one TCP session to Asterisk, kept up, carrying actions, AsyncAGI and events.

This is the only asyncio code of the AMI layer. Framing is ``framing`` (panoramisk's header
parser behind a UTF-8-safe splitter), events are typed by ``events``. panoramisk's
``Manager`` and ``AMIProtocol`` are not used: on Asterisk 12+ their AsyncAGI commands never
complete, their Ping never waits for the Pong, a "successfully queued" answer without an
``Async`` header raises inside ``data_received`` and drops the link, actions in flight at a
disconnect are silently parked, a refused login is not reported, and reconnects come at a
fixed 2 s. Each of those is handled here instead.

States of the link, and the rule behind each transition:

- DOWN -> UP: TCP connect, banner, ``Login`` (with the ``events`` mask) and the optional
  ``Filter`` actions, all within ``connect_timeout``. The first ``connect()`` raises
  ``AmiError`` (LOGIN_REFUSED or UNREACHABLE) so a wrong secret is a clear start-up error;
  later reconnects keep retrying, because a fixed manager.conf lets the link recover.
- UP -> DOWN: the peer closed, the framing broke, or a ``Ping`` got no answer within
  ``ping_timeout`` while nothing else arrived either (a half-open link: no FIN will ever
  come, so the transport is aborted, not closed). A late Pong with events still flowing is
  a busy Asterisk, not a dead one. Every action and AGI command waiting on the link fails
  at once with DISCONNECTED: AsyncAGIExec results emitted while we are away are lost for
  good, and the caller is better served by a fallback now than by a timeout later.
  ``on_link(False)`` runs.
- DOWN -> UP again after ``reconnect_delay`` (exponential, jittered); ``on_link(True)`` runs
  so the dispatcher can find calls left in AsyncAGI (``core_show_channels``).
- any -> CLOSED on ``close()``.

Budgets: every action has a timeout (``action_timeout`` unless given), every AGI command the
one its caller gives; nothing here waits without a deadline. Event callbacks run inside the
reader and must not block: Asterisk drops a client that reads too slowly (manager.conf
``writetimeout``), which would cost every call its link.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import structlog

from ivr.ami.agiresult import AgiResult
from ivr.ami.backoff import reconnect_delay
from ivr.ami.errors import AmiError, AmiFailure
from ivr.ami.events import (
    AmiEvent,
    AsyncAgiEnd,
    AsyncAgiExec,
    ChannelInfo,
    Hangup,
    OriginateResponse,
    parse_channel_info,
    parse_event,
)
from ivr.ami.framing import AmiMessage, FrameDecoder, HeaderValue, encode_action

log = structlog.get_logger(__name__)

EventCallback = Callable[[AmiEvent], None]
LinkCallback = Callable[[bool], None]

DTMF_DIGITS = frozenset("0123456789*#ABCD")
# Events the session itself settles waiters with, whoever else subscribes.
_SETTLING = frozenset({"asyncagiexec", "asyncagiend", "hangup", "originateresponse"})


@dataclass(frozen=True, slots=True)
class AmiLinkSettings:
    """Where and how to reach the AMI. Times are seconds.

    ``events`` is the login mask: ``system`` (FullyBooted, Shutdown), ``call`` (Hangup,
    OriginateResponse), ``agi`` (AsyncAGI*, AGIExec*), ``agent`` (queue events), ``user``.
    ``event_filters`` are sent as ``Filter`` actions after each login (Asterisk's legacy
    regex form, e.g. ``"Event: AsyncAGI"``; a leading ``!`` excludes): once one include
    filter exists, only matching events reach this session. Answers to list actions are
    not filtered.
    """

    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    events: str = "system,call,agi,agent,user"
    event_filters: tuple[str, ...] = ()
    connect_timeout: float = 5.0  # TCP + banner + login (Asterisk waits 1 s to refuse a login)
    action_timeout: float = 5.0  # an answer to any action (Asterisk answers in milliseconds)
    ping_interval: float = 5.0  # a half-open link is noticed within interval + timeout
    ping_timeout: float = 3.0
    reconnect_initial: float = 0.5
    reconnect_max: float = 30.0


@dataclass
class _PendingAction:
    future: asyncio.Future[tuple[AmiMessage, tuple[AmiMessage, ...]]]
    is_list: bool
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)


@dataclass
class _PendingCommand:
    channel: str
    future: asyncio.Future[AgiResult]


def _fail(future: asyncio.Future[Any], error: AmiError) -> None:
    if not future.done():
        future.set_exception(error)


def _forget(future: asyncio.Future[Any]) -> None:
    """Mark a failed future nobody will await as seen (no "never retrieved" report)."""
    if future.done() and not future.cancelled():
        future.exception()


class _Link(asyncio.Protocol):
    """One TCP connection: bytes in and out, answers matched to actions by ActionID."""

    def __init__(
        self, on_event: Callable[[AmiMessage], None], on_lost: Callable[[_Link], None]
    ) -> None:
        self._decoder = FrameDecoder()
        self._on_event = on_event
        self._on_lost = on_lost
        self.pending: dict[str, _PendingAction] = {}
        self.transport: asyncio.Transport | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.received = 0  # reads so far

    @property
    def banner(self) -> str | None:
        return self._decoder.banner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)

    def data_received(self, data: bytes) -> None:
        self.received += 1  # proof of life for the watchdog
        try:
            messages = self._decoder.feed(data)
        except AmiError as exc:
            log.error("ami_protocol_error", error=str(exc))
            self.abort()
            return
        for message in messages:
            self._route(message)

    def _route(self, message: AmiMessage) -> None:
        pending = self.pending.get(message.action_id) if message.action_id else None
        if message.event:
            # Events may carry an ActionID (list items, OriginateResponse) and even a
            # Response header (OriginateResponse, which can overtake Originate's answer).
            if pending is not None and pending.is_list:
                self._collect(pending, message)
            else:
                self._on_event(message)
        elif pending is None:
            return  # a late answer to an action that already timed out
        elif pending.is_list and message.is_success:
            pending.response = message
        else:
            self._finish(pending, message, ())

    def _collect(self, pending: _PendingAction, item: AmiMessage) -> None:
        if item.get("eventlist").lower() == "complete":
            self._finish(pending, pending.response or item, tuple(pending.items))
        else:
            pending.items.append(item)

    @staticmethod
    def _finish(pending: _PendingAction, reply: AmiMessage, items: tuple[AmiMessage, ...]) -> None:
        if not pending.future.done():
            pending.future.set_result((reply, items))

    def send(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise AmiError(AmiFailure.DISCONNECTED, "the AMI link is down")
        self.transport.write(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        error = AmiError(AmiFailure.DISCONNECTED, f"the AMI link was lost ({exc or 'closed'})")
        for pending in self.pending.values():
            _fail(pending.future, error)
        self.pending.clear()
        if not self.lost.done():
            self.lost.set_result(None)
        self._on_lost(self)


class AmiSession:
    """The gateway's AMI link. Create it anywhere; ``connect()`` inside the running loop."""

    def __init__(self, settings: AmiLinkSettings, *, rng: Callable[[], float] | None = None):
        self.settings = settings
        self._rng = rng or random.random
        self._link: _Link | None = None
        self._up: asyncio.Event | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._closed = False
        self._subscribers: dict[str, list[EventCallback]] = {}
        self._link_watchers: list[LinkCallback] = []
        self._commands: dict[str, _PendingCommand] = {}
        self._originations: dict[str, asyncio.Future[OriginateResponse]] = {}
        self._ids = itertools.count(1)
        self._nonce = secrets.token_hex(4)
        self.banner: str | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Log in once (raising ``AmiError`` if that fails), then keep the link up."""
        if self._keeper is not None:
            raise RuntimeError("AmiSession.connect() called twice")
        self._up = asyncio.Event()
        await self._open()
        self._keeper = asyncio.create_task(self._keep_up(), name="ami-link")

    async def close(self) -> None:
        self._closed = True
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        link = self._link
        if link is not None:
            with contextlib.suppress(AmiError):
                link.send(encode_action("Logoff", self._next_id(), {}))
            if link.transport is not None:
                link.transport.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await link.lost

    @property
    def connected(self) -> bool:
        return self._link is not None

    async def wait_connected(self, timeout: float) -> None:
        if self._up is None:
            raise AmiError(AmiFailure.DISCONNECTED, "connect() was never called")
        try:
            async with asyncio.timeout(timeout):
                await self._up.wait()
        except TimeoutError:
            raise AmiError(AmiFailure.UNREACHABLE, f"no AMI link within {timeout:g} s") from None

    def on_event(self, name: str, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback`` with each ``name`` event (``"*"``: all); returns an unsubscribe.

        Callbacks run inside the reader: do not block; start a task for real work.
        """
        callbacks = self._subscribers.setdefault(name.lower(), [])
        callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unsubscribe

    def on_link(self, callback: LinkCallback) -> Callable[[], None]:
        """Call ``callback(True)`` after each (re)login, ``callback(False)`` on each loss."""
        self._link_watchers.append(callback)

        def unsubscribe() -> None:
            if callback in self._link_watchers:
                self._link_watchers.remove(callback)

        return unsubscribe

    # --- actions --------------------------------------------------------------------------

    async def action(
        self, name: str, *, timeout: float | None = None, **headers: HeaderValue
    ) -> AmiMessage:
        """Send one action; its answer, or ``AmiError`` (REFUSED on ``Response: Error``).

        AMI headers are passed as keywords in their own spelling (``Channel="…"``);
        ``timeout`` (lower case) is this call's budget in seconds.
        """
        reply, _ = await self._send(name, headers, timeout, is_list=False)
        return reply

    async def action_list(
        self, name: str, *, timeout: float | None = None, **headers: HeaderValue
    ) -> tuple[AmiMessage, ...]:
        """Send a list action (``EventList: start`` … ``Complete``); the item events."""
        _, items = await self._send(name, headers, timeout, is_list=True)
        return items

    async def agi(self, channel: str, command: str, timeout: float) -> AgiResult:
        """Run one AsyncAGI command on ``channel`` and return its result.

        The result comes from the ``AsyncAGIExec`` event carrying our ``CommandID``. Raises
        ``AmiError``: TIMEOUT past ``timeout``, CHANNEL_GONE if the channel leaves AsyncAGI
        or hangs up first, REFUSED if Asterisk rejects it (no such channel), DISCONNECTED.
        """
        command_id = self._next_id("agi")
        waiter: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()
        self._commands[command_id] = _PendingCommand(channel, waiter)
        headers = {"Channel": channel, "Command": command, "CommandID": command_id}
        try:
            async with asyncio.timeout(timeout):
                await self._send("AGI", headers, timeout, is_list=False)
                return await waiter
        except TimeoutError:
            verb = " ".join(command.split()[:2])
            raise AmiError(
                AmiFailure.TIMEOUT, f"AGI {verb} on {channel}: no result within {timeout:g} s"
            ) from None
        finally:
            self._commands.pop(command_id, None)
            _forget(waiter)

    async def originate(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        ring_timeout: float = 30.0,
        timeout: float | None = None,
    ) -> OriginateResponse:
        """Place a call (always ``Async: true``) and wait for its ``OriginateResponse``.

        Needs ``call`` in the events mask. Raises ``AmiError`` REFUSED if the call failed.
        """
        action_id = self._next_id()
        outcome: asyncio.Future[OriginateResponse] = asyncio.get_running_loop().create_future()
        self._originations[action_id] = outcome
        headers: dict[str, HeaderValue] = {
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": str(priority),
            "Timeout": str(int(ring_timeout * 1000)),
        }
        if caller_id:
            headers["CallerID"] = caller_id
        if variables:
            headers["Variable"] = [f"{name}={value}" for name, value in variables.items()]
        budget = ring_timeout + (timeout or self.settings.action_timeout)
        try:
            async with asyncio.timeout(budget):
                await self._send("Originate", headers, timeout, is_list=False, action_id=action_id)
                response = await outcome
        except TimeoutError:
            raise AmiError(
                AmiFailure.TIMEOUT, f"Originate {channel}: no outcome within {budget:g} s"
            ) from None
        finally:
            self._originations.pop(action_id, None)
            _forget(outcome)
        if not response.success:
            raise AmiError(AmiFailure.REFUSED, f"Originate {channel}: reason {response.reason}")
        return response

    async def play_dtmf(
        self, channel: str, digit: str, *, receive: bool = False, duration_ms: int | None = None
    ) -> None:
        """Send one key on ``channel``; ``receive=True`` makes it arrive *on* that channel.

        On a Local channel ``Local/x@ctx-N;1``, the receiving form targets the half that
        runs the dialplan; the sending form targets the other half (``;2``) and holds the
        AMI session about 100 ms per key. Keys received less than ~50 ms apart are dropped.
        """
        if digit not in DTMF_DIGITS:
            raise AmiError(AmiFailure.INVALID, f"not a DTMF key: {digit!r}")
        headers: dict[str, HeaderValue] = {"Channel": channel, "Digit": digit}
        if receive:
            headers["Receive"] = "true"
        if duration_ms is not None:
            headers["Duration"] = str(duration_ms)
        await self._send("PlayDTMF", headers, None, is_list=False)

    async def set_global(self, name: str, value: str) -> None:
        """Set a global dialplan variable (``Setvar`` without a channel)."""
        await self.action("Setvar", Variable=name, Value=value)

    async def get_var(self, name: str, channel: str | None = None) -> str:
        """A channel variable, or a global one without ``channel``; "" when unset."""
        headers: dict[str, HeaderValue] = {"Variable": name}
        if channel is not None:
            headers["Channel"] = channel
        reply, _ = await self._send("Getvar", headers, None, is_list=False)
        return reply.get("value")

    async def core_show_channels(self) -> list[ChannelInfo]:
        return [parse_channel_info(item) for item in await self.action_list("CoreShowChannels")]

    async def redirect(self, channel: str, *, context: str, exten: str, priority: int = 1) -> None:
        await self.action(
            "Redirect", Channel=channel, Context=context, Exten=exten, Priority=str(priority)
        )

    async def hangup(self, channel: str, cause: int = 16) -> None:
        await self.action("Hangup", Channel=channel, Cause=str(cause))

    # --- internals ------------------------------------------------------------------------

    def _next_id(self, kind: str = "act") -> str:
        return f"sgw-{self._nonce}-{kind}-{next(self._ids)}"

    async def _send(
        self,
        name: str,
        headers: Mapping[str, HeaderValue],
        timeout: float | None,
        *,
        is_list: bool,
        action_id: str | None = None,
    ) -> tuple[AmiMessage, tuple[AmiMessage, ...]]:
        link = self._link
        if link is None:
            raise AmiError(AmiFailure.DISCONNECTED, f"{name}: the AMI link is down")
        if name.lower() == "originate":
            # A synchronous Originate holds the whole session until the call is answered.
            headers = {**headers, "Async": "true"}
        budget = self.settings.action_timeout if timeout is None else timeout
        return await self._request(
            link, name, headers, budget, is_list=is_list, action_id=action_id
        )

    async def _request(
        self,
        link: _Link,
        name: str,
        headers: Mapping[str, HeaderValue],
        timeout: float,
        *,
        is_list: bool = False,
        action_id: str | None = None,
        check: bool = True,
    ) -> tuple[AmiMessage, tuple[AmiMessage, ...]]:
        action_id = action_id or self._next_id()
        data = encode_action(name, action_id, headers)
        future: asyncio.Future[tuple[AmiMessage, tuple[AmiMessage, ...]]]
        future = asyncio.get_running_loop().create_future()
        link.pending[action_id] = _PendingAction(future, is_list)
        try:
            link.send(data)
            async with asyncio.timeout(timeout):
                reply, items = await future
        except TimeoutError:
            raise AmiError(AmiFailure.TIMEOUT, f"{name}: no answer within {timeout:g} s") from None
        finally:
            link.pending.pop(action_id, None)
            _forget(future)
        if check and not reply.is_success:
            detail = reply.get("message") or reply.response or "no reason given"
            raise AmiError(AmiFailure.REFUSED, f"{name}: {detail}")
        return reply, items

    async def _open(self) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        loop = asyncio.get_running_loop()
        link: _Link | None = None
        try:
            async with asyncio.timeout(s.connect_timeout):
                _, link = await loop.create_connection(
                    lambda: _Link(self._on_message, self._on_lost), s.host, s.port
                )
                login = {"Username": s.username, "Secret": s.secret, "Events": s.events}
                reply, _ = await self._request(link, "Login", login, s.connect_timeout, check=False)
                if not reply.is_success:
                    raise AmiError(
                        AmiFailure.LOGIN_REFUSED,
                        f"AMI login refused for user {s.username!r} at {where}: "
                        f"{reply.get('message') or reply.response}",
                    )
                for rule in s.event_filters:
                    await self._request(
                        link, "Filter", {"Operation": "Add", "Filter": rule}, s.action_timeout
                    )
        except (OSError, TimeoutError, AmiError) as exc:
            if link is not None:
                link.abort()
            if isinstance(exc, AmiError) and exc.reason is AmiFailure.LOGIN_REFUSED:
                raise
            detail = str(exc) or "timed out"
            raise AmiError(AmiFailure.UNREACHABLE, f"no AMI login at {where}: {detail}") from None
        self.banner = link.banner
        self._link = link
        if self._up is not None:
            self._up.set()
        log.info("ami_link_up", host=s.host, port=s.port, banner=self.banner)
        self._notify_link(True)

    async def _keep_up(self) -> None:
        attempt = 0
        while not self._closed:
            link = self._link
            if link is not None:
                await self._watch(link)
                attempt = 0
            delay = reconnect_delay(
                attempt,
                initial=self.settings.reconnect_initial,
                maximum=self.settings.reconnect_max,
                random=self._rng,
            )
            attempt += 1
            await asyncio.sleep(delay)
            try:
                await self._open()
            except AmiError as exc:
                log.warning("ami_reconnect_failed", attempt=attempt, error=str(exc))

    async def _watch(self, link: _Link) -> None:
        """Return when ``link`` is lost; Ping it meanwhile and abort it if Pong is late."""
        s = self.settings
        while True:
            done, _ = await asyncio.wait([link.lost], timeout=s.ping_interval)
            if done:
                return
            heard = link.received
            try:
                await self._request(link, "Ping", {}, s.ping_timeout)
            except AmiError as exc:
                if not link.lost.done() and link.received != heard:
                    # Asterisk runs one action at a time per connection: a busy one answers
                    # Ping late while events keep coming. That link is alive; only silence
                    # (a half-open link) is a reason to drop it.
                    log.info("ami_ping_late", error=str(exc))
                    continue
                if not link.lost.done():
                    log.warning("ami_link_silent", error=str(exc))
                    link.abort()
                await link.lost
                return

    def _on_lost(self, link: _Link) -> None:
        if self._link is not link:
            return  # a link that never completed its login
        self._link = None
        if self._up is not None:
            self._up.clear()
        error = AmiError(AmiFailure.DISCONNECTED, "the AMI link was lost")
        for command in self._commands.values():
            _fail(command.future, error)
        for outcome in self._originations.values():
            _fail(outcome, error)
        if not self._closed:
            log.warning("ami_link_down")
        self._notify_link(False)

    def _notify_link(self, up: bool) -> None:
        for callback in list(self._link_watchers):
            try:
                callback(up)
            except Exception:
                log.exception("ami_link_callback_failed")

    def _on_message(self, message: AmiMessage) -> None:
        name = message.event.lower()
        callbacks = self._subscribers.get(name, []) + self._subscribers.get("*", [])
        if not callbacks and name not in _SETTLING:
            return
        event = parse_event(message)
        self._settle(event)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("ami_event_callback_failed", ami_event=message.event)

    def _settle(self, event: AmiEvent) -> None:
        if isinstance(event, AsyncAgiExec):
            command = self._commands.get(event.command_id)
            if command is not None and not command.future.done():
                command.future.set_result(event.result)
        elif isinstance(event, AsyncAgiEnd | Hangup):
            error = AmiError(AmiFailure.CHANNEL_GONE, f"{event.channel} left AsyncAGI")
            for command in self._commands.values():
                if command.channel == event.channel:
                    _fail(command.future, error)
        elif isinstance(event, OriginateResponse):
            outcome = self._originations.get(event.action_id)
            if outcome is not None and not outcome.done():
                outcome.set_result(event)
