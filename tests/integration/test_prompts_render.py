"""Rendering prompts with the real espeak-ng and sox; gTTS offline; the cache; the CLI.

espeak-ng, sox and libsox-fmt-mp3 are installed by ``scripts/setup``. gTTS is exercised for
real (this machine has no route to its service, and a silent local proxy stands in for a
service that hangs); its success path uses a fake client that returns a real MP3.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from threading import Event, Thread
from urllib.parse import unquote

import pytest

from gateway.dossier import Status
from prompts import cli
from prompts.catalog import (
    GOODBYE,
    GREETING,
    PLEASE_WAIT,
    Catalogue,
    Prompt,
    PromptKind,
    build_catalogue,
    status_prompt,
)
from prompts.render import (
    MANIFEST_NAME,
    BuildListener,
    BuildReport,
    EspeakSynthesizer,
    GttsSynthesizer,
    PromptsMissingError,
    RenderConfig,
    RenderProgress,
    Synthesizer,
    build_prompts,
    check_prompts,
    gtts_client,
    read_manifest,
    require_prompts,
)
from prompts.speech import concat, spell_code
from tests.support.asterisk import SOUNDS, Asterisk

PAUSE = Prompt("sym/pause", ",", "", PromptKind.SILENCE)
SMALL = Catalogue([GREETING, GOODBYE, status_prompt(Status.PROCESSING), PAUSE], {})


def telephone_shape(path: Path) -> tuple[int, int, int, int]:
    """(rate, channels, sample width, frames) read with the standard library."""
    with wave.open(str(path), "rb") as audio:
        return (
            audio.getframerate(),
            audio.getnchannels(),
            audio.getsampwidth(),
            audio.getnframes(),
        )


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")]


class Recorder:
    def __init__(self) -> None:
        self.events: list[RenderProgress] = []
        self.notices: list[str] = []

    @property
    def listener(self) -> BuildListener:
        return BuildListener(progress=self.events.append, notice=self.notices.append)


async def build(
    config: RenderConfig,
    catalogue: Catalogue = SMALL,
    synthesizers: tuple[Synthesizer, ...] | None = None,
    recorder: Recorder | None = None,
) -> BuildReport:
    listener = recorder.listener if recorder else None
    return await build_prompts(config, catalogue, synthesizers=synthesizers, listener=listener)


@pytest.fixture
def config(tmp_path: Path) -> RenderConfig:
    return RenderConfig(dir=tmp_path / "sounds" / "statusgw", override_dir=tmp_path / "recorded")


async def test_the_whole_catalogue_renders_to_telephone_wav(config: RenderConfig) -> None:
    catalogue = build_catalogue(["UBND quận 1", "Sở Tư pháp TP.HCM"])
    recorder = Recorder()
    report = await build(config, catalogue, recorder=recorder)

    assert report.ok, report.failed
    assert set(report.rendered) == set(catalogue.ids)
    assert [e.done for e in recorder.events] == list(range(1, len(catalogue) + 1))
    manifest = read_manifest(config.language_dir)
    assert set(manifest) == set(catalogue.ids)
    for prompt in catalogue:
        path = config.path_for(prompt.id)
        rate, channels, width, frames = telephone_shape(path)
        assert (rate, channels, width) == (8000, 1, 2), prompt.id
        assert frames > 400, prompt.id  # at least 50 ms of audio
        assert manifest[prompt.id].text == prompt.vi
        assert manifest[prompt.id].duration_ms == frames * 1000 // 8000
        assert path.stat().st_mode & 0o777 == 0o644, prompt.id  # readable by Asterisk's user
    assert manifest["ivr/greeting"].source == "espeak-ng"
    assert manifest["sym/pause"].source == "silence"
    assert config.path_for("digits/5a") == config.dir / "vi" / "digits" / "5a.wav"
    assert config.playback_name("digits/5a") == "statusgw/vi/digits/5a"
    assert (config.language_dir / MANIFEST_NAME).stat().st_mode & 0o777 == 0o644
    assert not leftovers(config.dir)
    require_prompts(config.language_dir, catalogue)


async def test_unchanged_prompts_are_skipped(config: RenderConfig) -> None:
    await build(config)
    files = {p.id: config.path_for(p.id).stat() for p in SMALL}

    again = await build(config)

    assert again.rendered == ()
    assert set(again.cached) == set(SMALL.ids)
    for prompt_id, before in files.items():
        after = config.path_for(prompt_id).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


async def test_a_changed_text_or_voice_renders_again(config: RenderConfig) -> None:
    await build(config)
    edited = Prompt(GOODBYE.id, "Xin chào và hẹn gặp lại.", GOODBYE.en)
    catalogue = Catalogue([GREETING, edited, status_prompt(Status.PROCESSING), PAUSE], {})

    report = await build(config, catalogue)
    assert report.rendered == (GOODBYE.id,)
    assert read_manifest(config.language_dir)[GOODBYE.id].text == edited.vi

    south = (EspeakSynthesizer(voice="vi-vn-x-south"),)
    report = await build(config, catalogue, synthesizers=south)
    assert set(report.rendered) == {GREETING.id, GOODBYE.id, "status/processing"}
    assert report.cached == ("sym/pause",)


async def test_a_damaged_file_is_rendered_again(config: RenderConfig) -> None:
    await build(config)
    config.path_for(GREETING.id).write_bytes(b"RIFF")
    config.path_for(GOODBYE.id).unlink()

    report = await build(config)

    assert set(report.rendered) == {GREETING.id, GOODBYE.id}
    assert telephone_shape(config.path_for(GREETING.id))[0] == 8000


async def test_a_recorded_prompt_wins_over_synthesis(config: RenderConfig) -> None:
    assert config.override_dir is not None
    recorded = config.override_dir / "ivr" / "greeting.wav"
    recorded.parent.mkdir(parents=True)
    # A studio recording: 44.1 kHz stereo, 1.5 s.
    await asyncio.to_thread(
        subprocess.run,
        ["sox", "-n", "-r", "44100", "-c", "2", str(recorded), "synth", "1.5", "sine", "300"],
        check=True,
    )

    report = await build(config)

    entry = read_manifest(config.language_dir)[GREETING.id]
    assert entry.source == "override"
    assert report.by_source["override"] == 1
    rate, channels, width, frames = telephone_shape(config.path_for(GREETING.id))
    assert (rate, channels, width, frames) == (8000, 1, 2, 12000)
    assert (await build(config)).cached == tuple(sorted(SMALL.ids))

    recorded.unlink()
    report = await build(config)
    assert report.rendered == (GREETING.id,)
    assert read_manifest(config.language_dir)[GREETING.id].source == "espeak-ng"


async def test_real_gtts_offline_falls_back_after_one_attempt(config: RenderConfig) -> None:
    attempts: list[str] = []

    def counting_client(text: str, lang: str, tld: str, timeout: float, path: Path) -> None:
        attempts.append(text)
        gtts_client(text, lang, tld, timeout, path)  # the real library, no route to Google

    synthesizers = (GttsSynthesizer(timeout=3.0, client=counting_client), EspeakSynthesizer())
    recorder = Recorder()
    report = await build(config, synthesizers=synthesizers, recorder=recorder)

    assert report.ok
    assert len(attempts) <= config.workers  # the first failure takes gTTS out of the build
    assert report.by_source == {"espeak-ng": 3, "silence": 1}
    assert len(recorder.notices) == 1
    assert recorder.notices[0].startswith("gtts unavailable: gTTS cannot reach its service")
    assert recorder.notices[0].endswith("falling back to espeak-ng")
    assert not leftovers(config.dir)


@pytest.fixture
def silent_proxy() -> Iterator[str]:
    """A loopback 'proxy' that accepts connections and never answers: a hanging service."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


async def test_a_hanging_gtts_times_out_and_falls_back(
    config: RenderConfig, silent_proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", silent_proxy)
    monkeypatch.setenv("https_proxy", silent_proxy)
    synthesizers = (GttsSynthesizer(timeout=0.5), EspeakSynthesizer())
    recorder = Recorder()

    report = await build(config, synthesizers=synthesizers, recorder=recorder)

    assert report.ok
    assert report.by_source["espeak-ng"] == 3
    assert "gtts unavailable" in recorder.notices[0]


def make_mp3(path: Path, seconds: float) -> None:
    subprocess.run(
        ["sox", "-n", "-r", "24000", "-c", "1", str(path), "synth", str(seconds), "sine", "440"],
        check=True,
    )


async def test_gtts_mp3_is_converted_to_telephone_wav(config: RenderConfig) -> None:
    texts: list[tuple[str, str, str]] = []

    def fake_service(text: str, lang: str, tld: str, timeout: float, path: Path) -> None:
        texts.append((text, lang, tld))
        make_mp3(path, 2.0)

    gtts = GttsSynthesizer(tld="com.vn", client=fake_service)
    report = await build(config, synthesizers=(gtts, EspeakSynthesizer()))

    assert report.by_source == {"gtts": 3, "silence": 1}
    assert (GREETING.vi, "vi", "com.vn") in texts
    rate, channels, width, frames = telephone_shape(config.path_for(GREETING.id))
    assert (rate, channels, width) == (8000, 1, 2)
    assert 15_000 < frames < 17_000  # 2 s of MP3, give or take the decoder's padding
    assert read_manifest(config.language_dir)[GREETING.id].source == "gtts"

    # Offline later: what gTTS rendered is kept, and the service is not even asked.
    def no_network(text: str, lang: str, tld: str, timeout: float, path: Path) -> None:
        raise AssertionError("a cached prompt needs no synthesis")

    offline = GttsSynthesizer(tld="com.vn", client=no_network)
    again = await build(config, synthesizers=(offline, EspeakSynthesizer()))
    assert set(again.cached) == set(SMALL.ids)

    # Configured without gTTS: espeak-ng renders its own version.
    espeak_only = await build(config, synthesizers=(EspeakSynthesizer(),))
    assert set(espeak_only.rendered) == {GREETING.id, GOODBYE.id, "status/processing"}


class NotInstalled:
    name = "piper"
    timeout = 1.0

    def parameters(self) -> dict[str, object]:
        return {}

    def unavailable_reason(self) -> str | None:
        return "piper is not installed"

    def synthesize(self, text: str, workdir: Path) -> Path:
        raise AssertionError("an unavailable backend is never asked")


async def test_a_missing_backend_is_named_and_the_next_one_used(config: RenderConfig) -> None:
    recorder = Recorder()

    report = await build(
        config, synthesizers=(NotInstalled(), EspeakSynthesizer()), recorder=recorder
    )

    assert report.ok
    assert recorder.notices == [
        "piper unavailable: piper is not installed; falling back to espeak-ng"
    ]

    missing = EspeakSynthesizer(executable="espeak-ng-not-installed")
    alone = await build(
        RenderConfig(dir=config.dir.parent / "other"), synthesizers=(missing,), recorder=Recorder()
    )
    assert not alone.ok
    assert set(alone.failed) == {GREETING.id, GOODBYE.id, "status/processing"}
    assert "espeak-ng-not-installed is not installed" in alone.failed[GREETING.id]


async def test_the_hotline_refuses_missing_prompts_and_names_them(config: RenderConfig) -> None:
    await build(config)
    config.path_for(GOODBYE.id).unlink()

    with pytest.raises(PromptsMissingError, match="ivr/goodbye") as caught:
        require_prompts(config.language_dir, SMALL)
    assert caught.value.missing == (GOODBYE.id,)

    edited = Catalogue([Prompt(GREETING.id, "Xin chào."), PAUSE], {})
    check = check_prompts(config.language_dir, edited)
    assert check == type(check)(missing=(), stale=(GREETING.id,))

    with pytest.raises(PromptsMissingError, match="2 prompt"):
        require_prompts(config.dir / "nowhere", Catalogue([GREETING, GOODBYE], {}))


async def test_prompts_dropped_from_the_catalogue_are_removed(config: RenderConfig) -> None:
    await build(config, build_catalogue(["UBND quận 1"]))
    agency_files = list((config.language_dir / "agency").glob("*.wav"))
    assert len(agency_files) == 1

    report = await build(config, build_catalogue())

    assert len(report.pruned) == 1
    assert report.pruned[0].startswith("agency/ubnd-quan-1-")
    assert not agency_files[0].exists()
    assert report.cached  # everything else was kept


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "statusgw.toml"
    path.write_text(
        f'[prompts]\ndir = "{tmp_path / "out"}"\nsound_prefix = "statusgw"\n{extra}',
        encoding="utf-8",
    )
    return path


def test_cli_build_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_path = write_config(tmp_path, 'agencies = ["Phòng Tư pháp quận 3"]\n')

    assert cli.main(["build", "--config", str(config_path)]) == 0
    out, err = capsys.readouterr()
    assert "0 unchanged, 0 failed" in out
    assert "/out/vi" in out
    assert err.count("\n") <= 11  # a line per tenth of the way when not on a terminal
    assert "(rendered)" in err
    manifest = read_manifest(tmp_path / "out" / "vi")
    sample = [pid for pid in manifest if pid.startswith("agency/")]
    assert len(sample) > 1  # the configured agency and the sample data's agencies
    assert any(pid.startswith("agency/phong-tu-phap-quan-3-") for pid in sample)

    assert cli.main(["build", "--config", str(config_path), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert " 0 rendered" in f" {out}" and err == ""

    assert cli.main(["check", "--config", str(config_path)]) == 0
    (tmp_path / "out" / "vi" / "ivr" / "goodbye.wav").unlink()
    assert cli.main(["check", "--config", str(config_path)]) == 69
    out, _ = capsys.readouterr()
    assert "missing\tivr/goodbye" in out


def test_cli_build_reports_a_backend_that_cannot_be_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = write_config(tmp_path, 'backends = ["gtts", "espeak-ng"]\ngtts_timeout = 2.0\n')

    assert cli.main(["build", "--config", str(config_path)]) == 0

    _, err = capsys.readouterr()
    assert "statusgw: gtts unavailable:" in err
    assert "falling back to espeak-ng" in err
    assert manifest_sources(tmp_path / "out" / "vi") == {"espeak-ng", "silence"}


def manifest_sources(language_dir: Path) -> set[str]:
    return {entry.source for entry in read_manifest(language_dir).values()}


def test_manifest_is_json_with_one_entry_per_file(tmp_path: Path) -> None:
    config = RenderConfig(dir=tmp_path)
    asyncio.run(build_prompts(config, SMALL))
    raw = (config.language_dir / MANIFEST_NAME).read_text(encoding="utf-8")
    assert '"ivr/greeting"' in raw and "Xin chào" in raw  # UTF-8, readable
    files = sorted(p.relative_to(config.language_dir) for p in config.language_dir.rglob("*.wav"))
    assert [str(f) for f in files] == sorted(
        e.file for e in read_manifest(config.language_dir).values()
    )


# --- a rendered prompt plays in the real Asterisk ---------------------------------------------


class AmiSession:
    """Just enough AMI to drive one AsyncAGI call; independent of the gateway's own client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._messages: list[dict[str, str]] = []
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read_forever())
        self._next_id = 0

    @classmethod
    async def login(cls, asterisk: Asterisk) -> AmiSession:
        reader, writer = await asyncio.open_connection(asterisk.host, asterisk.port)
        await reader.readline()  # banner
        session = cls(reader, writer)
        reply = await session.action(
            "Login", Username=asterisk.username, Secret=asterisk.secret, Events="call,agi"
        )
        assert reply.get("Response") == "Success", reply
        return session

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()
            await self._task

    async def _read_forever(self) -> None:
        message: dict[str, str] = {}
        while line := await self._reader.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(":")
                message[key.strip()] = value.strip()
            elif message:
                self._messages.append(message)
                self._arrived.set()
                message = {}

    async def send(self, action: str, **headers: str) -> str:
        self._next_id += 1
        action_id = f"prompts-{self._next_id}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self._writer.drain()
        return action_id

    async def action(self, action: str, **headers: str) -> dict[str, str]:
        action_id = await self.send(action, **headers)
        return await self.wait_for(lambda m: m.get("ActionID") == action_id and "Response" in m)

    async def wait_for(self, matches: Callable[[dict[str, str]], bool]) -> dict[str, str]:
        async with asyncio.timeout(30):  # a deadline for a broken run, not a measurement
            seen = 0
            while True:
                for message in self._messages[seen:]:
                    if matches(message):
                        return message
                seen = len(self._messages)
                self._arrived.clear()
                await self._arrived.wait()


async def stream_file(ami: AmiSession, channel: str, name: str) -> tuple[int, int]:
    """AGI STREAM FILE through AsyncAGI: (result, endpos in samples)."""
    command_id = f"play-{name}"
    await ami.send("AGI", Channel=channel, Command=f'STREAM FILE {name} ""', CommandID=command_id)
    event = await ami.wait_for(
        lambda m: m.get("Event") == "AsyncAGIExec" and m.get("CommandId") == command_id
    )
    result = unquote(event["Result"])
    match = re.fullmatch(r"200 result=(-?\d+) endpos=(\d+)\s*", result)
    assert match, result
    return int(match[1]), int(match[2])


@pytest.mark.asterisk
async def test_a_rendered_prompt_plays_to_its_full_length_in_asterisk(asterisk: Asterisk) -> None:
    prefix = "statusgw-prompts-test"
    config = RenderConfig(dir=asterisk.root / SOUNDS / prefix, sound_prefix=prefix)
    spoken = concat(PLEASE_WAIT.spoken, spell_code("H29"), status_prompt(Status.PROCESSING).spoken)
    catalogue = Catalogue(
        [Prompt(f.id, f.text, "", PromptKind.FRAGMENT) for f in spoken.fragments], {}
    )
    ami: AmiSession | None = None
    try:
        assert (await build_prompts(config, catalogue)).ok
        ami = await AmiSession.login(asterisk)
        await ami.action("Setvar", Variable="STATUSGW_HEARTBEAT", Value=str(int(time.time())))
        originate = await ami.action(
            "Originate",
            Channel="Local/s@caller",
            Context="hotline",
            Exten="1022",
            Priority="1",
            Async="true",
        )
        assert originate["Response"] == "Success", originate
        start = await ami.wait_for(lambda m: m.get("Event") == "AsyncAGIStart")
        channel = start["Channel"]

        for prompt_id in spoken.ids:
            frames = telephone_shape(config.path_for(prompt_id))[3]
            result, endpos = await stream_file(ami, channel, config.playback_name(prompt_id))
            assert (result, endpos) == (0, frames), prompt_id

        # The same command on a prompt that was never rendered plays nothing.
        assert await stream_file(ami, channel, f"{prefix}/vi/ivr/not_rendered") == (-1, 0)
    finally:
        if ami is not None:
            await ami.close()
        asterisk.hangup_all()
        shutil.rmtree(config.dir, ignore_errors=True)
