"""A real Asterisk 22 for the tests, run from a cached Debian unstable root.

Debian 12 has no Asterisk package; unstable has Asterisk 22. ``ensure_root`` builds a minimal
unstable root with debootstrap once and caches it under ``.cache/asterisk-root/<recipe hash>``;
``Asterisk`` copies ``config/asterisk/*`` into it, starts ``asterisk -f`` in a chroot and
waits until the AMI accepts the gateway's login.

Why it is built this way:

- The root is built in a temporary directory beside the cache entry and renamed into place
  only when complete, so an interrupted build never leaves a root that looks usable. A lock
  file serialises builders; leftovers of a dead build are unmounted and removed.
- The recipe (suite, packages, the steps after debootstrap) is hashed into the directory name:
  changing the recipe builds a new root instead of reusing a stale one.
- Everything the root needs is installed with ``--include`` at debootstrap time: the
  unstable snapshot's ``Release`` may be expired by the calendar here, which only apt inside
  the root would object to.
- One test run at a time owns the root's Asterisk (and port 5038): a second run waits on a
  lock instead of stopping the first one's Asterisk.
- The package's sample configuration moves to ``/etc/asterisk.dist``; ``/etc/asterisk`` holds
  only the project's files, so the tests prove the samples are complete on their own.

Only the standard library is used: ``scripts/asterisk-root`` runs this module before the
virtual environment exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "config" / "asterisk"
CACHE_DIR = REPO / ".cache" / "asterisk-root"

SUITE = "sid"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("asterisk", "asterisk-modules", "sox")
# Bump when the steps after debootstrap change, so old roots are not reused.
RECIPE_REVISION = 1

AMI_HOST = "127.0.0.1"
AMI_PORT = 5038
AMI_USER = "statusgw"

BOOT_DEADLINE = 60.0  # seconds from start to an accepted AMI login
TURN_DEADLINE = 900.0  # seconds a second test run waits for the first to release Asterisk
STOP_DEADLINE = 15.0  # seconds for "core stop now" before the process is killed
SOUNDS = "usr/share/asterisk/sounds"

Log = Callable[[str], None]


class AsteriskHarnessError(RuntimeError):
    """The test Asterisk could not be built, started or reached."""


def _stderr(message: str) -> None:
    print(f"asterisk-root: {message}", file=sys.stderr, flush=True)


# --- the cached root ----------------------------------------------------------------------


def recipe() -> dict[str, object]:
    return {
        "suite": SUITE,
        "mirror": MIRROR,
        "variant": "minbase",
        "packages": list(PACKAGES),
        "revision": RECIPE_REVISION,
    }


def recipe_hash() -> str:
    text = json.dumps(recipe(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def root_path() -> Path:
    return CACHE_DIR / recipe_hash()


def _marker(root: Path) -> Path:
    return root / "etc" / "statusgw-asterisk-root.json"


def root_is_complete(root: Path) -> bool:
    marker = _marker(root)
    return marker.is_file() and json.loads(marker.read_text()) == recipe()


def ensure_root(log: Log = _stderr) -> Path:
    """The cached root for the current recipe, built first if absent (about a minute)."""
    root = root_path()
    if root_is_complete(root):
        return root
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with _build_lock():
        if root_is_complete(root):  # another process built it while we waited
            return root
        _remove_leftovers(log)
        started = time.monotonic()
        staging = CACHE_DIR / f".build-{recipe_hash()}-{os.getpid()}"
        try:
            _debootstrap(staging, log)
            _prepare(staging)
            _marker(staging).write_text(json.dumps(recipe(), sort_keys=True))
            if root.exists():  # an incomplete root under the final name: replace it
                _remove_tree(root)
            staging.rename(root)
        except BaseException:
            _remove_tree(staging)
            raise
        log(f"built {root} in {time.monotonic() - started:.1f} s")
    return root


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_leftovers(log: Log) -> None:
    for entry in CACHE_DIR.iterdir():
        if entry.name.startswith(".build-"):
            log(f"removing an interrupted build: {entry.name}")
            _remove_tree(entry)


def _mounts_under(path: Path) -> list[Path]:
    prefix = str(path.resolve())
    mounts = []
    with open("/proc/mounts") as table:
        for line in table:
            target = line.split()[1].replace("\\040", " ")
            if target == prefix or target.startswith(prefix + "/"):
                mounts.append(Path(target))
    return sorted(mounts, key=lambda p: len(p.parts), reverse=True)


def _unmount_all(path: Path) -> None:
    for mount in _mounts_under(path):
        if subprocess.run(["umount", str(mount)], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False, capture_output=True)


def _remove_tree(path: Path) -> None:
    """Remove a root, never following a still-mounted /proc or /sys into the host."""
    if not path.exists():
        return
    _unmount_all(path)
    if _mounts_under(path):
        raise AsteriskHarnessError(f"{path} still has mounts; not removing it")
    shutil.rmtree(path)


def _ensure_debootstrap(log: Log) -> None:
    if shutil.which("debootstrap"):
        return
    log("installing debootstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-qq", "debootstrap"]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(install, env=env, check=True)


def _debootstrap(staging: Path, log: Log) -> None:
    _ensure_debootstrap(log)
    log(f"building a Debian {SUITE} root with {', '.join(PACKAGES)} (about a minute)")
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(staging),
        MIRROR,
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise AsteriskHarnessError(f"debootstrap failed ({result.returncode}):\n{tail}")


def _prepare(staging: Path) -> None:
    etc = staging / "etc" / "asterisk"
    etc.rename(staging / "etc" / "asterisk.dist")
    etc.mkdir()
    shutil.rmtree(staging / "var" / "cache" / "apt" / "archives", ignore_errors=True)


# --- the running Asterisk -----------------------------------------------------------------


def manager_secret(config_dir: Path = CONFIG_DIR, user: str = AMI_USER) -> str:
    """The AMI secret of ``user`` as written in the sample manager.conf."""
    section = None
    for raw in (config_dir / "manager.conf").read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == user and "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            if key == "secret":
                return value
    raise AsteriskHarnessError(f"no secret for [{user}] in {config_dir / 'manager.conf'}")


@dataclass(frozen=True)
class Sound:
    """A sound file placed in the root, and the name Asterisk plays it by."""

    name: str  # e.g. "statusgw/test", for STREAM FILE / GET DATA
    path: Path  # on the host, inside the root


class Asterisk:
    """One Asterisk process in the cached root, with the project's configuration."""

    def __init__(self, root: Path, config_dir: Path = CONFIG_DIR) -> None:
        self.root = root
        self.config_dir = config_dir
        self.host = AMI_HOST
        self.port = AMI_PORT
        self.username = AMI_USER
        self.secret = manager_secret(config_dir)
        self.boot_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._mounted_proc = False
        self._turn: IO[str] | None = None

    # start / stop

    def start(self) -> None:
        self._take_turn()
        try:
            self._start()
        except BaseException:
            self._end_turn()
            raise

    def _start(self) -> None:
        self._stop_stray()
        self._install_config()
        self._prepare_run_dirs()
        self._mount_proc()
        if _port_open(self.host, self.port):
            raise AsteriskHarnessError(f"{self.host}:{self.port} is taken by another program")
        started = time.monotonic()
        output = open(self.root / "var" / "log" / "asterisk" / "console.log", "wb")  # noqa: SIM115
        with output:
            self._process = subprocess.Popen(
                ["chroot", str(self.root), "asterisk", "-f", "-U", "asterisk", "-G", "asterisk"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(started + BOOT_DEADLINE)
        except BaseException:
            self.stop()
            raise
        self.boot_seconds = time.monotonic() - started

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            self.cli("core stop now", check=False)
            try:
                process.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._mounted_proc:
            _unmount_all(self.root / "proc")
            self._mounted_proc = False
        self._end_turn()

    def _take_turn(self, log: Log = _stderr) -> None:
        """Hold the root's run lock; another test run may be using this Asterisk now."""
        turn = open(self.root.parent / f".{self.root.name}.running", "w")  # noqa: SIM115
        deadline = time.monotonic() + TURN_DEADLINE
        waiting_said = False
        while True:
            try:
                fcntl.flock(turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    turn.close()
                    raise AsteriskHarnessError("another test run kept Asterisk too long") from None
                if not waiting_said:
                    log("another test run is using Asterisk; waiting for it to finish")
                    waiting_said = True
                time.sleep(0.2)
        self._turn = turn

    def _end_turn(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None:
            fcntl.flock(turn, fcntl.LOCK_UN)
            turn.close()

    def _stop_stray(self) -> None:
        """An Asterisk left running in this root by an interrupted run holds the AMI port
        (we hold the run lock, so it belongs to no live test run)."""
        if not _port_open(self.host, self.port):
            return
        if (self.root / "run" / "asterisk" / "asterisk.ctl").exists():
            self.cli("core stop now", check=False)
        deadline = time.monotonic() + STOP_DEADLINE
        while _port_open(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def _install_config(self) -> None:
        etc = self.root / "etc" / "asterisk"
        for old in etc.iterdir():
            old.unlink()
        for conf in sorted(self.config_dir.glob("*.conf")):
            shutil.copy(conf, etc / conf.name)
        self._chroot("chown", "-R", "asterisk:asterisk", "/etc/asterisk")

    def _prepare_run_dirs(self) -> None:
        for name in ("run/asterisk", "var/log/asterisk", f"{SOUNDS}/statusgw"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "var" / "log" / "asterisk" / "messages.log").write_bytes(b"")
        self._chroot(
            "chown",
            "-R",
            "asterisk:asterisk",
            "/run/asterisk",
            "/var/log/asterisk",
            "/var/lib/asterisk",
            "/var/spool/asterisk",
            "/var/cache/asterisk",
        )

    def _mount_proc(self) -> None:
        proc = self.root / "proc"
        if not _mounts_under(proc):
            subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
        self._mounted_proc = True

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if self._process is not None and self._process.poll() is not None:
                raise AsteriskHarnessError(
                    f"asterisk exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            if _ami_login_accepted(self.host, self.port, self.username, self.secret):
                break
            if time.monotonic() > deadline:
                raise AsteriskHarnessError(f"AMI did not accept the login:\n{self.log_tail()}")
            time.sleep(0.05)
        self.cli("core waitfullybooted")

    # helpers for tests

    def cli(self, command: str, *, check: bool = True) -> str:
        """Run one CLI command (``asterisk -rx``) and return its output."""
        result = subprocess.run(
            ["chroot", str(self.root), "asterisk", "-rx", command],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and result.returncode != 0:
            raise AsteriskHarnessError(f"asterisk -rx {command!r}: {result.stderr.strip()}")
        return result.stdout

    def hangup_all(self) -> None:
        """End every channel, so one test's calls do not queue behind another's."""
        self.cli("channel request hangup all")

    def channels(self) -> list[str]:
        """Names of the live channels (``core show channels concise``)."""
        output = self.cli("core show channels concise")
        return [line.split("!", 1)[0] for line in output.splitlines() if "!" in line]

    def install_sound(self, name: str, source: Path) -> Sound:
        """Copy ``source`` (8 kHz mono WAV) to sounds/<name>.wav inside the root."""
        target = self._sound_path(name, source.suffix or ".wav")
        shutil.copy(source, target)
        os.chmod(target, 0o644)
        return Sound(name, target)

    def synth_sound(self, name: str, seconds: float, frequency: int = 440) -> Sound:
        """Make a tone of ``seconds`` with the root's sox, as 8 kHz mono 16-bit WAV."""
        target = self._sound_path(name, ".wav")
        inside = "/" + str(target.relative_to(self.root))
        self._chroot(
            "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", inside,
            "synth", f"{seconds:g}", "sine", str(frequency),
        )  # fmt: skip
        return Sound(name, target)

    def _sound_path(self, name: str, suffix: str) -> Path:
        if name.startswith("/") or ".." in Path(name).parts:
            raise ValueError(f"sound name must be relative: {name!r}")
        target = self.root / SOUNDS / f"{name}{suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def log_tail(self, lines: int = 40) -> str:
        log_dir = self.root / "var" / "log" / "asterisk"
        parts = []
        for name in ("console.log", "messages.log"):
            path = log_dir / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(parts)

    def _chroot(self, *command: str) -> None:
        subprocess.run(["chroot", str(self.root), *command], check=True, capture_output=True)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _ami_login_accepted(host: str, port: int, username: str, secret: str) -> bool:
    """One blocking AMI login, independent of the code under test."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            login = (
                f"Action: Login\r\nUsername: {username}\r\nSecret: {secret}\r\nEvents: off\r\n\r\n"
            )
            sock.sendall(login.encode())
            received = b""
            while b"\r\n\r\n" not in received.partition(b"\r\n")[2]:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                received += chunk
            sock.sendall(b"Action: Logoff\r\n\r\n")
            return b"Authentication accepted" in received
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    """``scripts/asterisk-root``: build the cached root; ``--start`` also boots it once."""
    args = sys.argv[1:] if argv is None else argv
    started = time.monotonic()
    try:
        root = ensure_root()
    except (AsteriskHarnessError, subprocess.CalledProcessError) as exc:
        _stderr(str(exc))
        return 1
    _stderr(f"root ready: {root} ({time.monotonic() - started:.1f} s)")
    if "--start" in args:
        asterisk = Asterisk(root)
        try:
            asterisk.start()
            _stderr(f"Asterisk answered the AMI after {asterisk.boot_seconds:.2f} s")
        finally:
            asterisk.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
