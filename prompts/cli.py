"""``statusgw prompts …``: hear what the hotline will say, list, build and check the prompts.

- ``say KIND VALUE``: the words on one line (``--fragments``: the fragment ids), so anyone can
  hear in their head what a caller will hear, before a call;
- ``list``: every catalogue entry, id and Vietnamese text (``--en`` adds the gloss);
- ``build --config PATH``: render every prompt to WAV (cached, with a progress bar);
- ``check --config PATH``: are all prompts rendered and current? (exit 69 if some are missing).

The gateway's CLI adds these with one call to :func:`add_prompts_commands`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gateway.dossier import Status
from gateway.settings import Settings
from prompts.catalog import build_catalogue, status_prompt
from prompts.render import (
    BuildListener,
    PromptError,
    RenderConfig,
    RenderProgress,
    build_prompts,
    check_prompts,
)
from prompts.speech import (
    Region,
    SpeechError,
    SpeechStyle,
    Spoken,
    expand_text,
    spell_code,
    spell_date,
    spell_datetime,
    spell_digits,
    spell_number,
    spell_phone,
    spell_time,
    spell_weekday,
)

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70

SettingsLoader = Callable[[str | None], Settings]
if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]


def add_prompts_commands(subparsers: SubParsers, load_settings: SettingsLoader) -> None:
    """Add ``prompts say|list|build|check``; handlers are stored as ``handler`` (→ exit code)."""
    prompts = subparsers.add_parser("prompts", help="Vietnamese speech: say, list, build, check")
    sub = prompts.add_subparsers(metavar="ACTION", required=True)

    say = sub.add_parser("say", help="print what the hotline says for a value")
    say.add_argument("kind", choices=[*sorted(_SAYERS), "text"], help="what the value is")
    say.add_argument("value", help="e.g. 2025, 2025-03-05, 09:30, 000.00.22.H29-240101-0001")
    say.add_argument("--fragments", action="store_true", help="print fragment ids, not words")
    say.add_argument("--region", choices=[r.value for r in Region], default=Region.NORTH.value)
    say.add_argument("--tu", choices=["auto", "yes", "no"], default="auto", help="24 → tư")
    say.add_argument("--gieng", action="store_true", help='January as "tháng Giêng"')
    say.add_argument("--24h", dest="twelve_hour", action="store_false", help="24-hour clock")
    say.set_defaults(handler=_say)

    listing = sub.add_parser("list", help="every prompt id with its Vietnamese text")
    listing.add_argument("--config", help="TOML configuration (adds configured agencies)")
    listing.add_argument("--en", action="store_true", help="add the English gloss")
    listing.set_defaults(handler=lambda args: _list(args, load_settings))

    build = sub.add_parser("build", help="render every prompt to 8 kHz WAV for Asterisk")
    build.add_argument("--config", required=True, help="TOML configuration file")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(handler=lambda args: _build(args, load_settings))

    check = sub.add_parser("check", help="are all prompts rendered and current?")
    check.add_argument("--config", required=True, help="TOML configuration file")
    check.set_defaults(handler=lambda args: _check(args, load_settings))


def main(argv: list[str] | None = None, load_settings: SettingsLoader | None = None) -> int:
    """Run ``prompts …`` on its own (``python -m prompts``)."""
    from gateway.settings import load_settings as load_file

    def default_loader(path: str | None) -> Settings:
        return load_file(Path(path) if path else None)

    parser = argparse.ArgumentParser(prog="statusgw")
    add_prompts_commands(parser.add_subparsers(required=True), load_settings or default_loader)
    args = parser.parse_args(["prompts", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.handler(args)
    return code


# --- mapping settings -------------------------------------------------------------------------


def speech_style(settings: Settings) -> SpeechStyle:
    """How numbers and dates are read, from ``[prompts]``."""
    return SpeechStyle(
        region=Region(settings.prompts.region), january_gieng=settings.prompts.january_gieng
    )


def render_config(settings: Settings) -> RenderConfig:
    """The build's configuration from ``[prompts]`` (and the file source's agency names)."""
    section = settings.prompts
    agencies = list(section.agencies)
    if section.agencies_from_source and settings.source.kind == "file":
        from adapters.file import read_dossiers

        agencies += sorted({d.agency for d in read_dossiers(settings.source.path) if d.agency})
    return RenderConfig(
        dir=Path(section.dir),
        sound_prefix=section.sound_prefix,
        backends=section.backends,
        override_dir=Path(section.override_dir) if section.override_dir else None,
        voice=section.voice,
        gtts_timeout=section.gtts_timeout,
        agencies=tuple(dict.fromkeys(agencies)),
        style=speech_style(settings),
    )


# --- say --------------------------------------------------------------------------------------


def _say_status(value: str, style: SpeechStyle) -> Spoken:
    return status_prompt(Status.parse(value)).spoken


_SAYERS: dict[str, Callable[[str, SpeechStyle], Spoken]] = {
    "number": lambda v, s: spell_number(int(v.replace(",", "").replace("_", "")), s),
    "digits": lambda v, s: spell_digits(v),
    "code": lambda v, s: spell_code(v),
    "phone": lambda v, s: spell_phone(v),
    "date": lambda v, s: spell_date(date.fromisoformat(v), s),
    "weekday": lambda v, s: spell_weekday(date.fromisoformat(v)),
    "time": lambda v, s: spell_time(datetime.strptime(v, "%H:%M").time(), s),
    "datetime": lambda v, s: spell_datetime(datetime.fromisoformat(v), s),
    "status": _say_status,
}


def _say(args: argparse.Namespace) -> int:
    tu = {"auto": None, "yes": True, "no": False}[args.tu]
    style = SpeechStyle(Region(args.region), tu, args.gieng, args.twelve_hour)
    if args.kind == "text":  # free text such as an agency name: rendered whole, no fragments
        print(expand_text(args.value, style))
        return EX_OK
    try:
        spoken = _SAYERS[args.kind](args.value, style)
    except (SpeechError, ValueError) as exc:
        print(f"statusgw: cannot say {args.kind} {args.value!r}: {exc}", file=sys.stderr)
        return EX_DATAERR
    print(" ".join(spoken.ids) if args.fragments else spoken.text)
    return EX_OK


# --- list, build, check -----------------------------------------------------------------------


def _list(args: argparse.Namespace, load_settings: SettingsLoader) -> int:
    if args.config:
        config = render_config(load_settings(args.config))
        catalogue = build_catalogue(config.agencies, config.style)
    else:
        catalogue = build_catalogue()
    for prompt in catalogue:
        line = f"{prompt.id}\t{prompt.vi}"
        print(f"{line}\t{prompt.en}" if args.en else line)
    return EX_OK


def _build(args: argparse.Namespace, load_settings: SettingsLoader) -> int:
    config = render_config(load_settings(args.config))
    bar = ProgressBar(sys.stderr, enabled=not args.quiet)
    listener = BuildListener(progress=bar.update, notice=bar.notice)
    started = time.monotonic()
    try:
        report = asyncio.run(build_prompts(config, listener=listener))
    except PromptError as exc:
        bar.close()
        print(f"statusgw: prompts not built: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    bar.close()
    sources = ", ".join(f"{n} {s}" for s, n in sorted(report.by_source.items()))
    print(
        f"{len(report.rendered)} rendered, {len(report.cached)} unchanged, "
        f"{len(report.failed)} failed, {len(report.pruned)} removed ({sources}) "
        f"in {time.monotonic() - started:.1f} s → {report.language_dir}"
    )
    for prompt_id, reason in report.failed.items():
        print(f"statusgw: {prompt_id}: {reason}", file=sys.stderr)
    return EX_OK if report.ok else EX_UNAVAILABLE


def _check(args: argparse.Namespace, load_settings: SettingsLoader) -> int:
    config = render_config(load_settings(args.config))
    catalogue = build_catalogue(config.agencies, config.style)
    result = check_prompts(config.language_dir, catalogue)
    for prompt_id in result.missing:
        print(f"missing\t{prompt_id}")
    for prompt_id in result.stale:
        print(f"stale\t{prompt_id}")
    print(
        f"{len(catalogue) - len(result.missing)}/{len(catalogue)} prompts rendered, "
        f"{len(result.stale)} stale, under {config.language_dir}",
        file=sys.stderr,
    )
    return EX_UNAVAILABLE if result.missing else EX_OK


class ProgressBar:
    """One redrawn line on a terminal; a line every tenth of the way otherwise."""

    def __init__(self, stream: TextIO, *, enabled: bool = True, width: int = 30) -> None:
        self._stream = stream
        self._enabled = enabled
        self._width = width
        self._tty = stream.isatty()
        self._last_decile = -1
        self._drawn = False

    def update(self, event: RenderProgress) -> None:
        if not self._enabled or event.total == 0:
            return
        filled = self._width * event.done // event.total
        bar = "#" * filled + "." * (self._width - filled)
        line = f"[{bar}] {event.done}/{event.total} {event.prompt_id} ({event.outcome.value})"
        if self._tty:
            self._stream.write("\r\x1b[K" + line)
            self._drawn = True
        elif (decile := 10 * event.done // event.total) != self._last_decile:
            self._last_decile = decile
            self._stream.write(line + "\n")
        self._stream.flush()

    def notice(self, message: str) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
        self._stream.write(f"statusgw: {message}\n")
        self._stream.flush()

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._drawn = False
        self._stream.flush()
