"""A rank group's lifetime: ``mlx.launch`` started, rank 0 connected, stopped for good.

The pool never becomes a rank (ranks run in lockstep and share ``mlx.launch``'s broadcast
stdin). It listens on a loopback socket, starts ``mlx.launch`` with a generated hostfile
and the worker module as the command, and waits for rank 0 to connect with a one-time
secret and report that every rank loaded its shard.

Teardown must leave nothing behind: ``mlx.launch`` runs in its own process group (local
ranks are its children there), so ``stop`` asks the ranks to exit, then signals the whole
group (TERM, then KILL), waits for it, and closes the sockets; the ring ports, chosen
free at start, are free again. ``mlx.launch`` itself ends every rank when one exits with an
error, so a dead rank takes the group down; ``death_note`` reads which rank died from its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.cluster.config import ClusterConfig
from workbench.core.cluster.wire import LineReader, WireClosed, send
from workbench.core.errors import ClusterDown, WorkbenchError

SECRET_ENV = "MLXBENCH_CLUSTER_SECRET"
LOAD_TIMEOUT = 600.0  # seconds for every rank to load its shard
STOP_GRACE = 5.0  # seconds ranks get to exit on their own before they are signalled
DEATH_LOG_WAIT = 3.0  # seconds to wait for mlx.launch to log which rank died
# `mlx.launch` (the console script), run by this interpreter so it needs no PATH entry
LAUNCH = "import sys; from mlx._distributed_utils.launch import main; sys.exit(main())"
DEATH = re.compile(r"Node with rank (\d+) (exited with code (-?\d+)|was killed)")


def free_port_run(count: int, host: str = "127.0.0.1") -> int:
    """The first of ``count`` consecutive ports free on ``host`` (for the ring backend)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((host, 0))
            first = int(probe.getsockname()[1])
        if first + count < 65536 and all(port_free(first + i, host) for i in range(count)):
            return first
    raise ClusterDown(f"no {count} consecutive free ports on {host}")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``port`` (a socket may still bind it)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class RankInfo:
    """A running rank: its host, process id (on that host) and MLX memory after loading."""

    rank: int
    host: str
    pid: int
    active_bytes: int


@dataclass
class RankGroup:
    """One launch of a model's ranks. Build, ``start()``, talk through ``send`` / ``read``,
    ``stop()`` (always; it is safe to call twice)."""

    cluster: ClusterConfig
    model_folder: Path
    python: str = field(default_factory=lambda: sys.executable)
    openblas: str = field(default_factory=lambda: configured_openblas())
    ranks: list[RankInfo] = field(default_factory=list)
    ports: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    _listener: socket.socket | None = None
    _conn: socket.socket | None = None
    _reader: LineReader | None = None
    _workdir: tempfile.TemporaryDirectory[str] | None = None
    _stdin: Any = None

    # ------------------------------------------------------------------ start

    def start(self, timeout: float = LOAD_TIMEOUT) -> None:
        """Launch every rank and wait until all have loaded their shard."""
        try:
            self._launch()
            self._accept(timeout)
            self._await_ready(timeout)
        except BaseException as exc:
            note = self.death_note()
            self.stop()
            if note and not isinstance(exc, ClusterDown):
                raise ClusterDown(f"cluster {self.cluster.name!r} failed to start: {note}") from exc
            raise

    def _launch(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="mlxbench-cluster-")
        work = Path(self._workdir.name)
        self._listener = socket.create_server(("127.0.0.1", 0))
        secret = secrets.token_hex(16)
        hostfile = work / "hostfile.json"
        hostfile.write_text(json.dumps(self.cluster.hostfile_json()), encoding="utf-8")
        first = free_port_run(self.cluster.ranks)
        self.ports = tuple(range(first, first + self.cluster.ranks))
        env = {**os.environ, SECRET_ENV: secret}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
        log = (work / "launch.log").open("wb")
        read_end, self._stdin = os.pipe()  # a stdin that never ends (mlx.launch polls it)
        self.process = subprocess.Popen(
            self.command(hostfile, first),
            stdin=read_end,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        os.close(read_end)
        log.close()
        self._secret = secret

    def command(self, hostfile: Path, first_port: int) -> list[str]:
        """The ``mlx.launch`` command line for this cluster and model."""
        python = self.cluster.python or self.python
        assert self._listener is not None, "rank 0 connects to the listener: start() first"
        connect = f"127.0.0.1:{self._listener.getsockname()[1]}"
        launch = [self.python, "-c", LAUNCH]
        return [
            *launch,
            "--hostfile", str(hostfile),
            "--backend", self.cluster.backend,
            "--starting-port", str(first_port),
            "--", python, "-m", "workbench.core.cluster.worker",
            "--model", str(self.model_folder),
            "--parallel", self.cluster.parallel,
            "--backend", self.cluster.backend,
            "--connect", connect,
            "--secret-env", SECRET_ENV,
            "--openblas", self.openblas,
        ]  # fmt: skip

    def _accept(self, timeout: float) -> None:
        listener = self._listener
        assert listener is not None
        deadline = time.monotonic() + timeout
        listener.settimeout(0.5)
        while True:
            self._check_running("while starting")
            if time.monotonic() > deadline:
                raise ClusterDown(f"cluster {self.cluster.name!r}: rank 0 did not connect")
            with contextlib.suppress(TimeoutError):
                conn, _ = listener.accept()
                reader = LineReader(conn)
                hello = reader.read(30.0)
                if hello and secrets.compare_digest(str(hello.get("secret")), self._secret):
                    self._conn, self._reader = conn, reader
                    listener.close()  # rank 0 is the only one who connects
                    self._listener = None
                    return
                conn.close()  # not our rank 0

    def _await_ready(self, timeout: float) -> None:
        message = self.read(timeout, "while loading")
        if message.get("type") == "error":
            raise ClusterDown(
                f"cluster {self.cluster.name!r}: loading failed: {message['message']}"
            )
        if message.get("type") != "ready":
            raise ClusterDown(f"cluster {self.cluster.name!r}: unexpected {message!r}")
        self.ranks = [
            RankInfo(rank, host.ssh, int(row["pid"]), int(row["active_bytes"]))
            for rank, (host, row) in enumerate(
                zip(self.cluster.hosts, message["ranks"], strict=True)
            )
        ]

    # ------------------------------------------------------------------ talking

    def send(self, message: dict[str, Any]) -> None:
        if self._conn is None:
            raise ClusterDown(f"cluster {self.cluster.name!r} is not running")
        try:
            send(self._conn, message)
        except WireClosed as exc:
            raise self._down("while sending a request") from exc

    def read(self, timeout: float | None = None, doing: str = "during the reply") -> dict[str, Any]:
        """The next message from rank 0; ``ClusterDown`` when the group died meanwhile or
        nothing came within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            message = self.poll(doing)
            if message is not None:
                return message
            if deadline is not None and time.monotonic() > deadline:
                raise ClusterDown(f"cluster {self.cluster.name!r}: no answer {doing}")

    def poll(self, doing: str = "during the reply", wait: float = 0.5) -> dict[str, Any] | None:
        """The next message if one comes within ``wait`` seconds, else None (after checking
        that every rank still runs: ``ClusterDown`` if not)."""
        if self._reader is None:
            raise ClusterDown(f"cluster {self.cluster.name!r} is not running")
        try:
            message = self._reader.read(wait)
        except WireClosed as exc:
            raise self._down(doing) from exc
        if message is None:
            self._check_running(doing)
        return message

    def running(self) -> bool:
        """Whether the launcher, its connection and every rank on this machine still run (a
        rank killed between two replies is seen here, before a request is sent to it)."""
        return self._conn is not None and self._launcher_and_local_ranks_run()

    def _launcher_and_local_ranks_run(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            return False
        return all(_alive(r.pid) for r in self.ranks if self.cluster.hosts[r.rank].local)

    def _check_running(self, doing: str) -> None:
        if not self._launcher_and_local_ranks_run():
            raise self._down(doing)

    def _down(self, doing: str) -> ClusterDown:
        deadline = time.monotonic() + DEATH_LOG_WAIT  # mlx.launch logs which rank went first
        while not self._death_line() and time.monotonic() < deadline:
            time.sleep(0.1)
        note = self.death_note() or "rank 0 closed its connection"
        return ClusterDown(f"cluster {self.cluster.name!r} stopped {doing}: {note}")

    def _death_line(self) -> bool:
        return any(m.group(3) is not None for m in DEATH.finditer(self._log_text()))

    def _log_text(self) -> str:
        if self._workdir is None:
            return ""
        try:
            return (Path(self._workdir.name) / "launch.log").read_text(errors="replace")
        except OSError:
            return ""

    def death_note(self) -> str:
        """Which rank died first and how, from mlx.launch's log ("" if none did)."""
        text = self._log_text()
        for match in DEATH.finditer(text):
            rank, code = int(match.group(1)), match.group(3)
            if code is None:
                continue  # stopped by mlx.launch because another rank failed
            host = self.cluster.hosts[rank].ssh if rank < self.cluster.ranks else "?"
            return f"rank {rank} on {host} {_exit_words(int(code))}"
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1][-300:] if lines else ""

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        """Stop every rank, wait for them, close the sockets (idempotent)."""
        if self._conn is not None:
            with contextlib.suppress(WireClosed, OSError):
                send(self._conn, {"type": "shutdown"})
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_GRACE)
        if process is not None:
            _end_group(process)
        for rank in self.ranks:  # a local rank outside the group (it never should be)
            if self.cluster.hosts[rank.rank].local and _alive(rank.pid):
                with contextlib.suppress(OSError):
                    os.kill(rank.pid, signal.SIGKILL)
        for closeable in (self._conn, self._listener):
            if closeable is not None:
                closeable.close()
        if self._stdin is not None:
            with contextlib.suppress(OSError):
                os.close(self._stdin)
        self._conn = self._listener = self._reader = self._stdin = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """TERM, then KILL, the launcher's whole process group; reap the launcher."""
    for sig, wait in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(process.pid):
            process.poll()
            time.sleep(0.05)
        if not _group_alive(process.pid):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_GRACE)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _exit_words(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed ({signal.Signals(-code).name})"
        return f"was killed (signal {-code})"
    return f"exited with code {code}"


def configured_openblas() -> str:
    """The config's ``openblas`` setting ("auto" or "off"), which the ranks follow as the
    pool's own process does ("auto" when the config cannot be read: loading it reports that)."""
    from workbench.core.config import load_config

    try:
        return load_config().openblas
    except WorkbenchError:
        return "auto"


def _package_root() -> str:
    """The folder holding the ``workbench`` package, so local ranks import this very code."""
    return str(Path(__file__).resolve().parents[3])
