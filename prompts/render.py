"""Render the catalogue to 8 kHz mono 16-bit WAV files that Asterisk plays without transcoding.

Layout: ``<dir>/<language>/<prompt id>.wav`` plus ``<dir>/<language>/manifest.json``; Asterisk
plays a prompt as ``<sound_prefix>/<language>/<prompt id>`` when ``<dir>`` is
``<sounds>/<sound_prefix>``.

Why it is shaped like this:

- Nothing is synthesised during a call. A build renders everything ahead of time and writes a
  manifest; the hotline checks the manifest when it starts (:func:`require_prompts`) and
  refuses to run with prompts missing.
- Each file is keyed by a content hash (source, voice parameters, text, output format), so a
  rebuild skips what has not changed. Files and the manifest are written to a temporary name
  and renamed, so a reader never sees half a file.
- Sources are tried in order for each prompt: a recorded file in the override folder always
  wins, then the configured backends (gTTS when its service answers, espeak-ng offline). The
  first failure of a backend takes it out for the rest of the build with one clear notice, so
  an offline build costs one failed connection, not one per prompt.
- Backends are blocking (subprocesses, an HTTP client without cancellation); each call runs in
  a worker thread under a timeout so the event loop keeps moving.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

from prompts.catalog import Catalogue, Prompt, PromptKind, build_catalogue
from prompts.speech import SILENCES, SpeechStyle

FORMAT_VERSION = 1  # bump when the conversion changes, to re-render everything once
SAMPLE_RATE = 8000
MANIFEST_NAME = "manifest.json"
SILENCE_SECONDS = 0.3
OVERRIDE_EXTENSIONS = ("wav", "mp3", "flac", "ogg")
ESPEAK = "espeak-ng"
GTTS = "gtts"
BACKENDS = (ESPEAK, GTTS)
SOX_TIMEOUT = 60.0
FILE_MODE = 0o644  # Asterisk runs as its own user; temporary files start as 0600


class PromptError(Exception):
    """Prompts cannot be rendered or used; the message says what to do."""


class BackendError(PromptError):
    """A speech backend is missing or did not produce audio."""


class PromptsMissingError(PromptError):
    """Rendered prompts the hotline needs are not on disk."""

    def __init__(self, missing: tuple[str, ...], directory: Path) -> None:
        self.missing = missing
        shown = ", ".join(missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        super().__init__(
            f"{len(missing)} prompt(s) missing under {directory}: {shown}; "
            "run `statusgw prompts build --config PATH`"
        )


@dataclass(frozen=True, slots=True)
class RenderConfig:
    """What a build needs; the composition root maps the ``[prompts]`` settings onto it."""

    dir: Path
    sound_prefix: str = "statusgw"
    backends: tuple[str, ...] = (ESPEAK,)
    override_dir: Path | None = None
    voice: str = "vi"  # espeak-ng voice: vi (North), vi-vn-x-central, vi-vn-x-south
    espeak_speed: int = 150  # words per minute; espeak-ng's 175 is fast on a phone line
    gtts_tld: str = "com.vn"
    gtts_timeout: float = 5.0
    agencies: tuple[str, ...] = ()
    style: SpeechStyle = field(default_factory=SpeechStyle)
    language: str = "vi"
    workers: int = 4

    def __post_init__(self) -> None:
        unknown = [name for name in self.backends if name not in BACKENDS]
        if unknown or not self.backends:
            raise PromptError(
                f"unknown prompt backend(s) {unknown or '(none given)'}; choose from {BACKENDS}"
            )
        if not 1 <= self.workers <= 64:
            raise PromptError("prompt render workers must be between 1 and 64")

    @property
    def language_dir(self) -> Path:
        return self.dir / self.language

    def path_for(self, prompt_id: str) -> Path:
        return self.language_dir / f"{prompt_id}.wav"

    def playback_name(self, prompt_id: str) -> str:
        """The name Asterisk plays the prompt by (``STREAM FILE``, ``GET DATA``, ``Playback``)."""
        return playback_name(self.sound_prefix, prompt_id, self.language)


def playback_name(sound_prefix: str, prompt_id: str, language: str = "vi") -> str:
    return f"{sound_prefix.strip('/')}/{language}/{prompt_id}"


# --- synthesizers -----------------------------------------------------------------------------


class Synthesizer(Protocol):
    """A speech backend. ``synthesize`` blocks; it runs in a worker thread."""

    name: str
    timeout: float

    def parameters(self) -> Mapping[str, object]:
        """Everything besides the text that changes the audio (part of the cache key)."""
        ...

    def unavailable_reason(self) -> str | None:
        """Why this backend cannot be used at all on this machine, or ``None``."""
        ...

    def synthesize(self, text: str, workdir: Path) -> Path:
        """Write audio for ``text`` in any format sox reads under ``workdir``; return its path."""
        ...


class EspeakSynthesizer:
    """espeak-ng: offline, deterministic, robotic; the default and what CI renders with."""

    name = ESPEAK

    def __init__(self, voice: str = "vi", speed: int = 150, executable: str = "espeak-ng") -> None:
        self.voice = voice
        self.speed = speed
        self.executable = executable
        self.timeout = 30.0

    def parameters(self) -> Mapping[str, object]:
        return {"voice": self.voice, "speed": self.speed}

    def unavailable_reason(self) -> str | None:
        if shutil.which(self.executable) is None:
            return f"{self.executable} is not installed (apt-get install espeak-ng)"
        return None

    def synthesize(self, text: str, workdir: Path) -> Path:
        source = workdir / "text.txt"
        source.write_text(text, encoding="utf-8")
        out = workdir / "espeak.wav"
        command = [self.executable, "-v", self.voice, "-s", str(self.speed), "-w", str(out)]
        _run([*command, "-f", str(source)], self.timeout, self.name)
        return out


GttsClient = Callable[[str, str, str, float, Path], None]
"""(text, lang, tld, timeout, mp3 path): write the MP3 or raise."""


def gtts_client(text: str, lang: str, tld: str, timeout: float, path: Path) -> None:
    """The real gTTS call: one HTTPS request per 100 characters, MP3 out."""
    from gtts import gTTS  # imported where used: optional at run time

    speech = gTTS(text=text, lang=lang, tld=tld, timeout=timeout)
    with path.open("wb") as fp:
        speech.write_to_fp(fp)


class GttsSynthesizer:
    """Google Translate's voice through gTTS: natural, online only, unofficial endpoint."""

    name = GTTS

    def __init__(
        self,
        lang: str = "vi",
        tld: str = "com.vn",
        timeout: float = 5.0,
        client: GttsClient = gtts_client,
    ) -> None:
        self.lang = lang
        self.tld = tld
        self.timeout = timeout + 1.0  # the thread's budget; the client's own timeout fires first
        self._client_timeout = timeout
        self._client = client

    def parameters(self) -> Mapping[str, object]:
        return {"lang": self.lang, "tld": self.tld}

    def unavailable_reason(self) -> str | None:
        try:
            import gtts  # noqa: F401
        except ImportError:
            return "the gTTS package is not installed"
        if not sox_reads_mp3():
            return "sox cannot read MP3 (apt-get install libsox-fmt-mp3)"
        return None

    def synthesize(self, text: str, workdir: Path) -> Path:
        out = workdir / "gtts.mp3"
        try:
            self._client(text, self.lang, self.tld, self._client_timeout, out)
        except Exception as exc:  # the service's failures take many shapes; all mean "not now"
            raise BackendError(f"gTTS cannot reach its service ({_first_line(exc)})") from exc
        if not out.exists() or out.stat().st_size == 0:
            raise BackendError("gTTS returned no audio")
        return out


def make_synthesizers(config: RenderConfig) -> tuple[Synthesizer, ...]:
    """The configured backends, in the configured order."""
    made: dict[str, Synthesizer] = {
        ESPEAK: EspeakSynthesizer(config.voice, config.espeak_speed),
        GTTS: GttsSynthesizer(config.language, config.gtts_tld, config.gtts_timeout),
    }
    return tuple(made[name] for name in config.backends)


# --- sox --------------------------------------------------------------------------------------


def sox_available() -> bool:
    return shutil.which("sox") is not None


def sox_reads_mp3() -> bool:
    if not sox_available():
        return False
    help_text = subprocess.run(
        ["sox", "-h"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    formats = help_text.partition("AUDIO FILE FORMATS:")[2].splitlines()[:1]
    return bool(formats) and "mp3" in formats[0].split()


def to_telephone_wav(source: Path, dest: Path) -> None:
    """Any audio sox reads → 8 kHz mono 16-bit PCM WAV, peak-normalised to -3 dBFS."""
    _run(
        ["sox", "-V1", "-G", str(source), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", str(dest), "gain", "-n", "-3"],
        SOX_TIMEOUT,
        "sox",
    )  # fmt: skip


def silence_wav(dest: Path, seconds: float = SILENCE_SECONDS) -> None:
    _run(
        ["sox", "-V1", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
         "-e", "signed-integer", str(dest), "trim", "0", f"{seconds:.3f}"],
        SOX_TIMEOUT,
        "sox",
    )  # fmt: skip


def _run(command: list[str], timeout: float, what: str) -> None:
    try:
        subprocess.run(command, capture_output=True, timeout=timeout, check=True)
    except subprocess.CalledProcessError as exc:
        detail = exc.stderr.decode("utf-8", "replace").strip() or f"exit status {exc.returncode}"
        raise BackendError(f"{what} failed: {_first_line(detail)}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BackendError(f"{what} took longer than {timeout:g} s") from exc
    except FileNotFoundError as exc:
        raise BackendError(f"{what} is not installed") from exc


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def wav_duration_ms(path: Path) -> int:
    """Duration of a telephone WAV; raises BackendError if it is not 8 kHz mono 16-bit PCM."""
    try:
        with wave.open(str(path), "rb") as audio:
            shape = (audio.getframerate(), audio.getnchannels(), audio.getsampwidth())
            frames = audio.getnframes()
    except (wave.Error, EOFError) as exc:
        raise BackendError(f"{path} is not a PCM WAV file: {exc}") from exc
    if shape != (SAMPLE_RATE, 1, 2):
        raise BackendError(f"{path} is {shape[0]} Hz, {shape[1]} channel(s), {8 * shape[2]}-bit")
    return frames * 1000 // SAMPLE_RATE


# --- the manifest -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    file: str  # relative to the language folder
    key: str  # content hash
    source: str  # "espeak-ng", "gtts", "override", "silence"
    text: str
    bytes: int
    duration_ms: int


def read_manifest(language_dir: Path) -> dict[str, ManifestEntry]:
    """The manifest's entries by prompt id; empty when there is none or it is unreadable."""
    try:
        raw = json.loads((language_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        return {pid: ManifestEntry(**entry) for pid, entry in raw["prompts"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_manifest(config: RenderConfig, entries: Mapping[str, ManifestEntry]) -> None:
    document = {
        "format": FORMAT_VERSION,
        "language": config.language,
        "sound_prefix": config.sound_prefix,
        "sample_rate": SAMPLE_RATE,
        "prompts": {
            pid: {
                "file": e.file,
                "key": e.key,
                "source": e.source,
                "text": e.text,
                "bytes": e.bytes,
                "duration_ms": e.duration_ms,
            }
            for pid, e in sorted(entries.items())
        },
    }
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    _atomic_write_bytes(config.language_dir / MANIFEST_NAME, data)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _is_intact(config: RenderConfig, entry: ManifestEntry, key: str) -> bool:
    if entry.key != key:
        return False
    try:
        return (config.language_dir / entry.file).stat().st_size == entry.bytes
    except OSError:
        return False


# --- checking at start-up ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromptCheck:
    missing: tuple[str, ...]  # no file on disk, or not in the manifest
    stale: tuple[str, ...]  # rendered from a text the catalogue no longer has


def check_prompts(language_dir: Path, catalogue: Catalogue) -> PromptCheck:
    """Compare the rendered prompts with the catalogue; reads the manifest and stats files."""
    entries = read_manifest(language_dir)
    missing: list[str] = []
    stale: list[str] = []
    for prompt in catalogue:
        entry = entries.get(prompt.id)
        if entry is None or not (language_dir / entry.file).is_file():
            missing.append(prompt.id)
        elif entry.source != "override" and entry.text != prompt.vi:
            stale.append(prompt.id)
    return PromptCheck(tuple(missing), tuple(stale))


def require_prompts(language_dir: Path, catalogue: Catalogue) -> PromptCheck:
    """:func:`check_prompts`, raising :class:`PromptsMissingError` naming any missing prompt."""
    check = check_prompts(language_dir, catalogue)
    if check.missing:
        raise PromptsMissingError(check.missing, language_dir)
    return check


# --- the build --------------------------------------------------------------------------------


class Outcome(Enum):
    RENDERED = "rendered"
    CACHED = "cached"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RenderProgress:
    done: int
    total: int
    prompt_id: str
    outcome: Outcome
    source: str


@dataclass(frozen=True, slots=True)
class BuildListener:
    """Where a build reports as it goes: one call per prompt, and notices (a backend down)."""

    progress: Callable[[RenderProgress], None] = lambda _event: None
    notice: Callable[[str], None] = lambda _message: None


@dataclass(frozen=True, slots=True)
class BuildReport:
    rendered: tuple[str, ...]
    cached: tuple[str, ...]
    failed: Mapping[str, str]  # prompt id → why
    by_source: Mapping[str, int]
    pruned: tuple[str, ...]
    notices: tuple[str, ...]
    language_dir: Path

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(slots=True)
class _Build:
    config: RenderConfig
    synthesizers: tuple[Synthesizer, ...]
    listener: BuildListener
    previous: Mapping[str, ManifestEntry]
    total: int
    down: dict[str, str] = field(default_factory=dict)
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    outcomes: dict[str, tuple[Outcome, str]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def take_down(self, synthesizer: Synthesizer, reason: str) -> None:
        if synthesizer.name in self.down:
            return
        self.down[synthesizer.name] = reason
        following = [s.name for s in self.synthesizers if s.name not in self.down]
        fallback = f"falling back to {following[0]}" if following else "no backend left"
        message = f"{synthesizer.name} unavailable: {reason}; {fallback}"
        self.notices.append(message)
        self.listener.notice(message)

    def finish(self, prompt: Prompt, outcome: Outcome, source: str) -> None:
        self.outcomes[prompt.id] = (outcome, source)
        event = RenderProgress(len(self.outcomes), self.total, prompt.id, outcome, source)
        self.listener.progress(event)


async def build_prompts(
    config: RenderConfig,
    catalogue: Catalogue | None = None,
    *,
    synthesizers: tuple[Synthesizer, ...] | None = None,
    listener: BuildListener | None = None,
) -> BuildReport:
    """Render every catalogue entry that is not already rendered with the same content."""
    if not sox_available():
        raise PromptError("sox is not installed (apt-get install sox libsox-fmt-mp3)")
    catalogue = catalogue or build_catalogue(config.agencies, config.style)
    build = _Build(
        config=config,
        synthesizers=synthesizers if synthesizers is not None else make_synthesizers(config),
        listener=listener or BuildListener(),
        previous=read_manifest(config.language_dir),
        total=len(catalogue),
    )
    for synthesizer in build.synthesizers:
        reason = synthesizer.unavailable_reason()
        if reason:
            build.take_down(synthesizer, reason)
    config.language_dir.mkdir(parents=True, exist_ok=True)
    limit = asyncio.Semaphore(config.workers)

    async def one(prompt: Prompt) -> None:
        async with limit:
            await _render_prompt(build, prompt)

    async with asyncio.TaskGroup() as group:
        for prompt in catalogue:
            group.create_task(one(prompt))
    pruned = _prune(build, catalogue)
    await asyncio.to_thread(_write_manifest, config, build.entries)
    return _report(build, pruned)


def _report(build: _Build, pruned: tuple[str, ...]) -> BuildReport:
    by_source: dict[str, int] = {}
    for _outcome, source in build.outcomes.values():
        by_source[source] = by_source.get(source, 0) + 1
    return BuildReport(
        rendered=tuple(sorted(p for p, (o, _) in build.outcomes.items() if o is Outcome.RENDERED)),
        cached=tuple(sorted(p for p, (o, _) in build.outcomes.items() if o is Outcome.CACHED)),
        failed=dict(sorted(build.failures.items())),
        by_source=by_source,
        pruned=pruned,
        notices=tuple(build.notices),
        language_dir=build.config.language_dir,
    )


def _prune(build: _Build, catalogue: Catalogue) -> tuple[str, ...]:
    """Delete files an earlier build wrote for prompts the catalogue no longer has."""
    gone = sorted(set(build.previous) - set(catalogue.ids))
    for prompt_id in gone:
        (build.config.language_dir / build.previous[prompt_id].file).unlink(missing_ok=True)
    return tuple(gone)


def _content_key(source: str, parameters: Mapping[str, object], payload: str) -> str:
    material = json.dumps(
        [FORMAT_VERSION, SAMPLE_RATE, source, dict(parameters), payload],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def find_override(override_dir: Path | None, prompt_id: str) -> Path | None:
    """A recorded file for ``prompt_id`` (``<override_dir>/<id>.wav`` or .mp3/.flac/.ogg)."""
    if override_dir is None:
        return None
    for extension in OVERRIDE_EXTENSIONS:
        candidate = override_dir / f"{prompt_id}.{extension}"
        if candidate.is_file():
            return candidate
    return None


async def _render_prompt(build: _Build, prompt: Prompt) -> None:
    try:
        if await _render_fixed_source(build, prompt):
            return
    except BackendError as exc:
        build.failures[prompt.id] = str(exc)
        build.finish(prompt, Outcome.FAILED, "-")
        return
    reasons: list[str] = []
    for synthesizer in build.synthesizers:
        if synthesizer.name in build.down:
            reasons.append(f"{synthesizer.name}: {build.down[synthesizer.name]}")
            continue
        key = _content_key(synthesizer.name, synthesizer.parameters(), prompt.vi)
        try:
            await _produce(build, prompt, synthesizer.name, key, _synthesis(prompt, synthesizer))
            return
        except BackendError as exc:
            build.take_down(synthesizer, str(exc))
            reasons.append(f"{synthesizer.name}: {exc}")
    build.failures[prompt.id] = "; ".join(reasons) or "no backend configured"
    build.finish(prompt, Outcome.FAILED, "-")


async def _render_fixed_source(build: _Build, prompt: Prompt) -> bool:
    """A recorded override or a silence: no synthesizer involved. False if neither applies."""
    override = find_override(build.config.override_dir, prompt.id)
    if override is not None:
        digest = await asyncio.to_thread(_file_digest, override)
        key = _content_key("override", {}, digest)
        await _produce(build, prompt, "override", key, _converted(lambda _workdir: override))
        return True
    if prompt.kind is PromptKind.SILENCE:
        seconds = SILENCES.get(prompt.id, SILENCE_SECONDS)
        key = _content_key("silence", {"seconds": seconds}, "")
        await _produce(build, prompt, "silence", key, lambda _work, out: silence_wav(out, seconds))
        return True
    return False


Writer = Callable[[Path, Path], None]
"""(scratch folder, staged output): write the telephone WAV. Blocking; runs in a thread."""


def _converted(make_source: Callable[[Path], Path]) -> Writer:
    def write(workdir: Path, staged: Path) -> None:
        to_telephone_wav(make_source(workdir), staged)

    return write


def _synthesis(prompt: Prompt, synthesizer: Synthesizer) -> Writer:
    return _converted(lambda workdir: synthesizer.synthesize(prompt.vi, workdir))


async def _produce(build: _Build, prompt: Prompt, source: str, key: str, write: Writer) -> None:
    """Reuse the file if its key matches, else write it (atomically) and record it."""
    config = build.config
    previous = build.previous.get(prompt.id)
    if previous is not None and _is_intact(config, previous, key):
        build.entries[prompt.id] = previous
        build.finish(prompt, Outcome.CACHED, source)
        return
    budget = max((s.timeout for s in build.synthesizers if s.name == source), default=0.0)
    timeout = SOX_TIMEOUT + budget
    try:
        size, duration = await asyncio.wait_for(
            asyncio.to_thread(_render_file, config, prompt, write), timeout
        )
    except TimeoutError as exc:
        raise BackendError(f"no audio within {timeout:g} s") from exc
    relative = f"{prompt.id}.wav"
    build.entries[prompt.id] = ManifestEntry(relative, key, source, prompt.vi, size, duration)
    build.finish(prompt, Outcome.RENDERED, source)


def _render_file(config: RenderConfig, prompt: Prompt, write: Writer) -> tuple[int, int]:
    """Blocking: write, validate and rename one file into place. Runs in a worker thread."""
    dest = config.path_for(prompt.id)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, staged_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".tmp.wav", dir=dest.parent)
    os.close(fd)
    staged = Path(staged_name)
    try:
        with tempfile.TemporaryDirectory(prefix="statusgw-prompt-") as work:
            write(Path(work), staged)
        duration = wav_duration_ms(staged)
        size = staged.stat().st_size
        os.chmod(staged, FILE_MODE)
        os.replace(staged, dest)
    finally:
        staged.unlink(missing_ok=True)
    return size, duration


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
