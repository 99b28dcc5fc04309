"""Typed, validated settings: TOML file first, then ``STATUSGW_SECTION__KEY`` environment overrides.

Every section is a frozen dataclass; a field's type is its validation (bool, int, float, str,
tuple of str, table of str, or a ``Literal`` of allowed words). Unknown sections and keys are
errors that name them, so a typo in a production file never silently falls back to a default.
Only :func:`load_settings` reads the environment, and only when the composition root passes it.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.hours import HoursError, OperatorHours

ENV_PREFIX = "STATUSGW_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and what is wrong."""


BindMode = Literal["transceiver", "transmitter_receiver"]
SmsEncoding = Literal["fold", "unicode", "fit"]
SourceKind = Literal["file", "postgres", "rest"]
FallbackSourceKind = Literal["none", "file", "postgres", "rest"]
LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
SyncCommit = Literal["on", "off", "local", "remote_write", "remote_apply"]
_SQL_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


@dataclass(frozen=True, slots=True)
class SmppSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = "statusgw"
    password: str = field(default="", repr=False)
    system_type: str = ""
    bind: BindMode = "transceiver"
    address_range: str = ""
    short_code: str = "8283"
    source_ton: int = 0
    source_npi: int = 0
    window: int = 10
    throughput: float = 50.0  # submits per second the operator allows; 0 = no cap
    response_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    enquire_link_timeout: float = 10.0
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    registered_delivery: bool = True
    max_pdu_size: int = 65536
    drain_timeout: float = 10.0

    def __post_init__(self) -> None:
        _in_range("smpp.port", self.port, 1, 65535)
        _in_range("smpp.window", self.window, 1, 1000)
        _in_range("smpp.source_ton", self.source_ton, 0, 6)
        _in_range("smpp.source_npi", self.source_npi, 0, 18)
        _in_range("smpp.max_pdu_size", self.max_pdu_size, 64, 16 * 1024 * 1024)
        _at_least("smpp.throughput", self.throughput, 0)
        for name in ("response_timeout", "enquire_link_interval", "enquire_link_timeout"):
            _at_least(f"smpp.{name}", getattr(self, name), 0.01)
        _at_least("smpp.reconnect_min", self.reconnect_min, 0.01)
        if self.reconnect_max < self.reconnect_min:
            raise ConfigError("smpp.reconnect_max must not be below smpp.reconnect_min")
        if len(self.system_id) > 15:
            raise ConfigError("smpp.system_id is longer than SMPP's 15 characters")
        if len(self.password) > 8:
            raise ConfigError("smpp.password is longer than SMPP's 8 characters")
        if not self.short_code.strip():
            raise ConfigError("smpp.short_code must not be empty")


@dataclass(frozen=True, slots=True)
class SmsSettings:
    encoding: SmsEncoding = "fold"
    max_parts: int = 3  # a reply never costs more segments than this
    max_codes: int = 3  # codes answered from one message
    hotline: str = "1022"
    agency_prefix: str = ""  # keyword prefix on a shared short code, e.g. "DOST"
    reassembly_timeout: float = 300.0
    backlog: int = 10000  # MO waiting for an answer before the SMSC is asked to retry later

    def __post_init__(self) -> None:
        _in_range("sms.max_parts", self.max_parts, 1, 10)
        _in_range("sms.max_codes", self.max_codes, 1, 10)
        _at_least("sms.reassembly_timeout", self.reassembly_timeout, 1)
        _in_range("sms.backlog", self.backlog, 1, 10_000_000)


@dataclass(frozen=True, slots=True)
class SourceSettings:
    kind: SourceKind = "file"
    name: str = ""  # how logs, /readyz and results name it; empty: the kind
    path: str = ""  # empty: the embedded sample data
    dsn: str = field(default="", repr=False)
    query: str = ""  # postgres: SQL, $1 = code, returning the canonical columns
    digits_query: str = ""  # postgres: $1 = keypad digits key; empty: the built-in one
    phone_query: str = ""  # postgres: $1 = national phone form; empty: the built-in one
    pool_size: int = 10
    url: str = ""  # rest: template with {code}
    digits_url: str = ""  # rest: template with {digits}; empty: keypad lookups not offered
    phone_url: str = ""  # rest: template with {phone}; empty: caller-ID offers not made
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # rest: auth header
    mapping: Mapping[str, str] = field(default_factory=dict)  # rest: canonical field -> JSON path
    record_path: str = ""  # rest: dotted path to the dossier (or list) in the reply
    retries: int = 2  # rest: extra attempts after a 5xx or a timeout, with jittered backoff
    retry_backoff: float = 0.1
    timeout: float = 2.0  # one call, retries included; postgres statement_timeout too

    def __post_init__(self) -> None:
        section = self._section()
        if self.kind == "postgres" and not self.dsn:
            raise ConfigError(f"{section}.dsn is required when {section}.kind = 'postgres'")
        if self.kind == "rest" and not self.url:
            raise ConfigError(f"{section}.url is required when {section}.kind = 'rest'")
        if self.kind == "rest" and "{code}" not in self.url:
            raise ConfigError(f"{section}.url must contain {{code}}, got {self.url!r}")
        for key, marker in (("digits_url", "{digits}"), ("phone_url", "{phone}")):
            value = getattr(self, key)
            if value and marker not in value:
                raise ConfigError(f"{section}.{key} must contain {marker}, got {value!r}")
        _at_least(f"{section}.timeout", self.timeout, 0.01)
        _in_range(f"{section}.pool_size", self.pool_size, 1, 1000)
        _in_range(f"{section}.retries", self.retries, 0, 10)
        _at_least(f"{section}.retry_backoff", self.retry_backoff, 0)

    @classmethod
    def _section(cls) -> str:
        return "source"

    @property
    def display_name(self) -> str:
        return self.name or str(self.kind)


@dataclass(frozen=True, slots=True)
class FallbackSourceSettings(SourceSettings):
    """A second source, asked when [source] does not know a dossier or cannot answer."""

    kind: FallbackSourceKind = "none"  # type: ignore[assignment]

    @classmethod
    def _section(cls) -> str:
        return "fallback_source"


@dataclass(frozen=True, slots=True)
class LookupSettings:
    sms_deadline: float = 5.0  # seconds a channel waits for an answer before "try later"
    voice_deadline: float = 1.5
    http_deadline: float = 3.0
    breaker_failures: int = 5  # failures in a row that open a source's circuit
    breaker_reset: float = 30.0  # seconds an open circuit refuses calls before one trial

    def __post_init__(self) -> None:
        for name in ("sms_deadline", "voice_deadline", "http_deadline"):
            _at_least(f"lookup.{name}", getattr(self, name), 0.05)
        _in_range("lookup.breaker_failures", self.breaker_failures, 1, 1000)
        _at_least("lookup.breaker_reset", self.breaker_reset, 0.1)


@dataclass(frozen=True, slots=True)
class LimitsSettings:
    sender_per_minute: int = 5  # lookups per SMS sender or caller; 0 = no limit
    sender_per_day: int = 50
    client_per_minute: int = 600  # HTTP requests per API key
    not_found_threshold: int = 10  # unknown codes in the window that make a sender suspect
    not_found_window: float = 3600.0
    suspect_per_minute: int = 1  # what a suspect sender may still look up

    def __post_init__(self) -> None:
        for name in (
            "sender_per_minute",
            "sender_per_day",
            "client_per_minute",
            "not_found_threshold",
        ):
            _in_range(f"limits.{name}", getattr(self, name), 0, 10_000_000)
        _in_range("limits.suspect_per_minute", self.suspect_per_minute, 1, 10_000)
        _at_least("limits.not_found_window", self.not_found_window, 1)


@dataclass(frozen=True, slots=True)
class CacheSettings:
    url: str = "memory://"
    ttl_open: float = 60.0  # seconds an open dossier's status is served without asking
    ttl_final: float = 3600.0  # returned, rejected, stopped, withdrawn: nothing changes
    ttl_negative: float = 10.0  # "not found"; short, a new dossier must appear quickly
    revalidate_window: float = 30.0  # past its TTL: served at once, refreshed behind
    max_stale: float = 3600.0  # past its TTL: served only if the sources fail, up to this
    timeout: float = 0.25  # one cache operation; a slower cache counts as down
    retry_interval: float = 1.0  # a cache that failed is left alone this long
    key_prefix: str = "statusgw:v1"
    seal_key: str = field(default="", repr=False)  # phone digests; empty: random per process
    max_entries: int = 100_000  # memory:// only

    def __post_init__(self) -> None:
        _url_scheme("cache.url", self.url, ("memory", "redis", "rediss", "unix"))
        for name in ("ttl_open", "ttl_final"):
            _at_least(f"cache.{name}", getattr(self, name), 1)
        for name in ("ttl_negative", "revalidate_window", "max_stale"):
            _at_least(f"cache.{name}", getattr(self, name), 0)
        _at_least("cache.timeout", self.timeout, 0.001)
        _at_least("cache.retry_interval", self.retry_interval, 0)
        _in_range("cache.max_entries", self.max_entries, 1, 100_000_000)
        if not self.key_prefix.strip() or " " in self.key_prefix:
            raise ConfigError("cache.key_prefix must be a non-empty word without spaces")
        if self.seal_key and len(self.seal_key) < 16:
            raise ConfigError("cache.seal_key must have at least 16 characters")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    url: str = field(default="memory://", repr=False)
    schema: str = "statusgw"  # postgresql: the schema the gateway's tables live in
    pool_size: int = 10
    timeout: float = 5.0  # one statement; slower counts as unavailable
    batch_max: int = 500  # writes of one kind committed together at most
    batch_wait_ms: float = 0.0  # how long a commit waits for more writes (0: none)
    lease_seconds: float = 30.0  # a claimed MO or reply is another's after this silence
    # Seconds an SMSC's redelivery of a stored MO is recognised (and not answered again). Kept
    # short: within it, a citizen who sends the very same text again gets no second answer.
    dedup_window: float = 120.0
    synchronous_commit: SyncCommit = "on"  # "on": an acknowledged MO survives a server crash
    start_timeout: float = 30.0  # seconds to wait for the database at start
    ride_through: float = 1.0  # seconds an MO write waits for a restarting database
    retention_days: int = 30  # messages, replies and receipts are purged after this
    audit_retention_days: int = 365  # the lookup audit is purged after this
    retention_interval: float = 3600.0  # seconds between purges

    def __post_init__(self) -> None:
        _url_scheme("store.url", self.url, ("memory", "postgresql", "postgres"))
        if not _SQL_NAME.match(self.schema):
            raise ConfigError(f"store.schema must be a lower-case SQL name, got {self.schema!r}")
        _in_range("store.pool_size", self.pool_size, 2, 1000)
        _in_range("store.batch_max", self.batch_max, 1, 100_000)
        _in_range("store.retention_days", self.retention_days, 1, 36500)
        _in_range("store.audit_retention_days", self.audit_retention_days, 1, 36500)
        _at_least("store.timeout", self.timeout, 0.05)
        _at_least("store.batch_wait_ms", self.batch_wait_ms, 0)
        _at_least("store.lease_seconds", self.lease_seconds, 0.5)
        _at_least("store.dedup_window", self.dedup_window, 0)
        _at_least("store.start_timeout", self.start_timeout, 0)
        _at_least("store.ride_through", self.ride_through, 0)
        _at_least("store.retention_interval", self.retention_interval, 1)


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """Status-change notifications (``DK <code>``) and how changes reach the gateway."""

    enabled: bool = True
    quiet_hours: str = "21:00-07:00"  # no notification SMS then; held until the end
    timezone: str = "Asia/Ho_Chi_Minh"
    daily_cap: int = 3  # notification SMS per subscriber and local day; the rest waits
    max_subscriptions: int = 10  # dossiers one number may follow
    subscription_days: int = 180  # a subscription ends after this even if nothing is final
    poll_interval: float = 300.0  # seconds between polls of subscribed codes; 0: webhook only
    poll_concurrency: int = 4  # source calls in flight while polling
    release_interval: float = 5.0  # seconds between looks for notifications due
    # Who may POST /v1/events/status-changed: bearer tokens ("sha256:<hex>" or the token,
    # 16+ characters) and HMAC-SHA256 secrets (16+ characters) for signed bodies.
    webhook_tokens: tuple[str, ...] = field(default=(), repr=False)
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    webhook_max_skew: float = 300.0  # seconds a signature's timestamp may be off

    def __post_init__(self) -> None:
        start, sep, end = self.quiet_hours.partition("-")
        if not sep or not (_CLOCK.match(start.strip()) and _CLOCK.match(end.strip())):
            raise ConfigError(f"notify.quiet_hours must be HH:MM-HH:MM, got {self.quiet_hours!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"notify.timezone: unknown time zone {self.timezone!r}") from None
        _in_range("notify.daily_cap", self.daily_cap, 1, 1000)
        _in_range("notify.max_subscriptions", self.max_subscriptions, 1, 1000)
        _in_range("notify.subscription_days", self.subscription_days, 1, 3650)
        _in_range("notify.poll_concurrency", self.poll_concurrency, 1, 100)
        _at_least("notify.poll_interval", self.poll_interval, 0)
        _at_least("notify.release_interval", self.release_interval, 0.05)
        _at_least("notify.webhook_max_skew", self.webhook_max_skew, 1)
        for key in ("webhook_tokens", "webhook_secrets"):
            for index, entry in enumerate(getattr(self, key)):
                if not entry.startswith("sha256:") and len(entry) < 16:
                    raise ConfigError(f"notify.{key}[{index}] must have at least 16 characters")


@dataclass(frozen=True, slots=True)
class AmiSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "statusgw"
    secret: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        _in_range("ami.port", self.port, 1, 65535)


@dataclass(frozen=True, slots=True)
class IvrSettings:
    """The hotline dialogue and its guard rails (budgets not listed here: ivr/limits.py)."""

    # When operators take escalated calls (lookups run day and night); see ivr/hours.py.
    operator_hours: tuple[str, ...] = ("mon-fri 07:30-17:00", "sat 07:30-11:30")
    timezone: str = "Asia/Ho_Chi_Minh"
    closed_days: tuple[str, ...] = ()  # public holidays, "YYYY-MM-DD"
    sms_offer: bool = True  # outside operator hours, offer mobile callers the result by SMS
    max_call_seconds: int = 600
    heartbeat_interval: float = 5.0
    heartbeat_stale: int = 15  # the dialplan sends callers to the operators past this age
    first_digit_timeout: float = 8.0
    inter_digit_timeout: float = 3.0
    max_tries: int = 3
    wait_prompt_after: float = 0.8
    lookup_deadline: float = 4.0
    owner_lock_dsn: str = field(default="", repr=False)  # PostgreSQL; empty: always the owner
    owner_lock_key: int = 1022

    def __post_init__(self) -> None:
        try:
            OperatorHours.parse(self.operator_hours, self.timezone, self.closed_days)
        except HoursError as exc:
            raise ConfigError(f"ivr: {exc}") from None
        _in_range("ivr.max_call_seconds", self.max_call_seconds, 30, 86400)
        _in_range("ivr.max_tries", self.max_tries, 1, 10)
        _in_range("ivr.heartbeat_stale", self.heartbeat_stale, 2, 3600)
        for name in ("first_digit_timeout", "inter_digit_timeout", "wait_prompt_after"):
            _at_least(f"ivr.{name}", getattr(self, name), 0.1)
        _at_least("ivr.heartbeat_interval", self.heartbeat_interval, 0.1)
        if self.heartbeat_interval * 2 > self.heartbeat_stale:
            raise ConfigError(
                "ivr.heartbeat_stale must be at least twice ivr.heartbeat_interval, or one late"
                " beat sends every caller to the operators"
            )
        if self.lookup_deadline <= self.wait_prompt_after:
            raise ConfigError("ivr.lookup_deadline must be longer than ivr.wait_prompt_after")
        if self.owner_lock_dsn:
            _url_scheme("ivr.owner_lock_dsn", self.owner_lock_dsn, ("postgresql", "postgres"))


@dataclass(frozen=True, slots=True)
class PromptsSettings:
    dir: str = "var/prompts"
    sound_prefix: str = "statusgw"
    backends: tuple[str, ...] = ("espeak-ng",)  # tried in order: "gtts" (online), "espeak-ng"
    override_dir: str = ""  # recorded prompts, <id>.wav, that win over synthesis
    voice: str = "vi"  # espeak-ng voice: vi (North), vi-vn-x-central, vi-vn-x-south
    gtts_timeout: float = 5.0
    region: Literal["north", "south"] = "north"  # number words: nghìn/linh or ngàn/lẻ
    january_gieng: bool = False  # read January as "tháng Giêng"
    agencies: tuple[str, ...] = ()  # agency names rendered whole for "collect it at ..."
    agencies_from_source: bool = True  # also the file source's agency names

    def __post_init__(self) -> None:
        for name in self.backends:
            if name not in ("gtts", "espeak-ng"):
                raise ConfigError(f"prompts.backends: unknown backend {name!r}")
        if not self.backends:
            raise ConfigError("prompts.backends must name at least one backend")
        _at_least("prompts.gtts_timeout", self.gtts_timeout, 0.1)


@dataclass(frozen=True, slots=True)
class HttpSettings:
    enabled: bool = False
    listen: str = "127.0.0.1:8080"
    # Keys that may call /v1: "sha256:<hex of the key>" (preferred) or the key itself
    # (16+ characters, e.g. from STATUSGW_HTTP__API_KEYS). Optional "name=" prefix for logs.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    anonymous: bool = False  # /v1 without a key (a kiosk on a closed network, the demo)

    def __post_init__(self) -> None:
        host, sep, port = self.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"http.listen must be HOST:PORT, got {self.listen!r}")
        for index, entry in enumerate(self.api_keys):
            secret = entry.partition("=")[2] if "=" in entry else entry
            if secret.startswith("sha256:"):
                digest = secret.removeprefix("sha256:")
                if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                    raise ConfigError(f"http.api_keys[{index}]: sha256: needs 64 lower-case hex")
            elif len(secret) < 16:
                raise ConfigError(f"http.api_keys[{index}] must have at least 16 characters")

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    enabled: bool = True  # GET /metrics on the [http] listener (Prometheus text format)
    # Bearer token Prometheus must present ("sha256:<hex>" or the token, 16+ characters);
    # empty: /metrics is open to whoever reaches the listener (keep it on a closed network).
    token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.token and not self.token.startswith("sha256:") and len(self.token) < 16:
            raise ConfigError("metrics.token must have at least 16 characters")


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    """The operator console at /console/ on the [http] listener."""

    enabled: bool = False
    # Who may sign in: "name:role:hash", role "operator" or "supervisor", hash from
    # ``statusgw console hash-password``. Better from STATUSGW_CONSOLE__USERS.
    users: tuple[str, ...] = field(default=(), repr=False)
    # Each operator's phone in the operators queue (queue member name or interface), so the
    # call ringing there shows on their screen: {lan = "Local/desk1@operator-desk/n"}.
    members: Mapping[str, str] = field(default_factory=dict)
    # Signs session cookies (32+ characters, from STATUSGW_CONSOLE__SESSION_SECRET); empty: a
    # random one per process, so everyone signs in again after a restart.
    session_secret: str = field(default="", repr=False)
    session_minutes: int = 600  # a sign-in lasts this long (a shift)
    lockout_after: int = 5  # failed sign-ins in a row that lock a name
    lockout_minutes: int = 15
    secure_cookie: bool = False  # true when the console is reached over HTTPS (a proxy)
    full_number_roles: tuple[str, ...] = ("supervisor",)  # who sees callers' whole numbers
    timezone: str = "Asia/Ho_Chi_Minh"  # "today" on the supervisor page, times shown

    def __post_init__(self) -> None:
        from gateway.console.auth import Role, UserEntryError, parse_users

        try:
            parse_users(self.users, self.members)
        except UserEntryError as exc:
            raise ConfigError(f"console.{exc}") from None
        if self.enabled and not self.users:
            raise ConfigError("console.enabled needs at least one entry in console.users")
        if self.session_secret and len(self.session_secret) < 32:
            raise ConfigError("console.session_secret must have at least 32 characters")
        _in_range("console.session_minutes", self.session_minutes, 5, 7 * 24 * 60)
        _in_range("console.lockout_after", self.lockout_after, 1, 100)
        _in_range("console.lockout_minutes", self.lockout_minutes, 1, 24 * 60)
        roles = {r.value for r in Role}
        for role in self.full_number_roles:
            if role not in roles:
                raise ConfigError(f"console.full_number_roles: unknown role {role!r}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"console.timezone: unknown time zone {self.timezone!r}") from None


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: LogLevel = "info"
    format: LogFormat = "auto"  # auto: readable on a terminal, JSON lines otherwise


@dataclass(frozen=True, slots=True)
class CodesSettings:
    # Regular expressions for dossier numbers outside the national scheme that this province
    # also issues (e.g. a social-insurance form ``\\d{5}/\\d{4}/\\d{5}``), matched whole.
    other_schemes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from gateway.codes import CodeGrammar

        try:
            CodeGrammar(self.other_schemes)
        except ValueError as exc:
            raise ConfigError(f"codes.other_schemes: {exc}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    smpp: SmppSettings = field(default_factory=SmppSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    codes: CodesSettings = field(default_factory=CodesSettings)
    source: SourceSettings = field(default_factory=SourceSettings)
    fallback_source: FallbackSourceSettings = field(default_factory=FallbackSourceSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    lookup: LookupSettings = field(default_factory=LookupSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    ami: AmiSettings = field(default_factory=AmiSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    prompts: PromptsSettings = field(default_factory=PromptsSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    log: LogSettings = field(default_factory=LogSettings)


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``path`` (TOML), apply ``STATUSGW_SECTION__KEY`` overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        raw = _read_toml(path)
    if environ:
        _apply_environment(raw, environ)
    return build_settings(raw)


def build_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate a parsed mapping (TOML shape) into :class:`Settings`."""
    sections = _fields(Settings)
    unknown = sorted(set(raw) - set(sections))
    if unknown:
        raise ConfigError(f"unknown section [{unknown[0]}] (known: {', '.join(sections)})")
    built: dict[str, Any] = {}
    for name, section_type in sections.items():
        values = raw.get(name, {})
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        built[name] = _build_section(name, section_type, values)
    return Settings(**built)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for variable, value in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        section, sep, key = variable[len(ENV_PREFIX) :].lower().partition("__")
        if not sep or not section or not key:
            raise ConfigError(f"{variable}: expected {ENV_PREFIX}SECTION__KEY")
        target = raw.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{variable}: [{section}] is not a table")
        target[key] = _EnvText(value)


class _EnvText(str):
    """A value that came from the environment, so it is parsed from text."""


def _fields(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _build_section(section: str, cls: type, values: Mapping[str, Any]) -> Any:
    fields = _fields(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"unknown key {section}.{unknown[0]} (known: {', '.join(fields)})")
    kwargs = {key: _coerce(f"{section}.{key}", fields[key], value) for key, value in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{section}]: {exc}") from None


def _coerce(key: str, kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin is Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{key} must be one of {choices}, got {value!r}")
        return str(value)
    if kind is bool:
        return _to_bool(key, value)
    if kind is int:
        return _to_number(key, value, int)
    if kind is float:
        return float(_to_number(key, value, float))
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return str(value)
    if origin is tuple:
        return _to_strings(key, value)
    if origin in (Mapping, dict) or kind is dict:
        return _to_table(key, value)
    if isinstance(kind, types.UnionType):
        return value
    raise ConfigError(f"{key}: unsupported setting type {kind!r}")  # pragma: no cover


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, _EnvText):
        word = value.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off"):
            return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _to_number(key: str, value: Any, kind: type[int] | type[float]) -> int | float:
    if isinstance(value, _EnvText):
        try:
            return kind(value.strip())
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if kind is int and isinstance(value, float):
            raise ConfigError(f"{key} must be a whole number, got {value!r}")
        return value
    raise ConfigError(f"{key} must be a number, got {value!r}")


def _to_strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, _EnvText):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{key} must be a list of strings, got {value!r}")


def _to_table(key: str, value: Any) -> dict[str, str]:
    if isinstance(value, _EnvText):
        pairs = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ConfigError(f"{key} from the environment must look like a=b,c=d")
        return {k.strip(): v.strip() for k, v in pairs}
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return {str(k): str(v) for k, v in value.items()}
    raise ConfigError(f"{key} must be a table of strings, got {value!r}")


def _in_range(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{key} must be between {low} and {high}, got {value}")


def _at_least(key: str, value: float, low: float) -> None:
    if value < low:
        raise ConfigError(f"{key} must be at least {low}, got {value}")


def _url_scheme(key: str, url: str, schemes: tuple[str, ...]) -> None:
    scheme = url.partition("://")[0]
    if "://" not in url or scheme not in schemes:
        raise ConfigError(f"{key} must start with one of {', '.join(s + '://' for s in schemes)}")
