"""A process that has imported the bot once and forks a `tuike` process per command line a test runs.

A fresh `python -m bot search …` spends about 0.8 of its 1.1 CPU seconds importing the bot (SQLAlchemy,
pydantic, httpx, the leagues), and the suite runs over a hundred of them. A child forked from here is
still a process of its own, started as `python -m bot ARGS` is: its own stdin, stdout and stderr
(pipes), working folder, environment and exit status; `bot/__main__.py` runs as `__main__` and the
interpreter ends the way it does after a command (atexit, thread joins, flushing), or through
`os._exit` where the bot does that itself. Only the imports are done already.

The zygote is a plain Python process with no threads, so forking it is safe. `tests.helpers.tuike`
starts one per test process (`Zygote.shared`) and talks to it over a Unix socket: a request is the
command line, folder and environment as JSON with the child's three standard streams passed as file
descriptors; the answers are the child's pid, then its wait status.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import json
import os
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

PRELOAD = (
    "bot.cli",
    "bot.cli.core",
    "bot.cli.league",
    "bot.cli.takeout",
    "bot.cli.groups",
    "bot.cli.orders",
    "bot.cli.push",
    "bot.compose",
    "bot.store.db",
    "bot.store.models",
    "bot.leagues.setup",
    "httpx",
)
"""What most commands import anyway; a command needing more imports it in its own process."""

_HEADER = struct.Struct("!I")


def _send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    payload = _HEADER.pack(len(data)) + data
    if fds:
        sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sock.sendall(payload)


def _recv(sock: socket.socket, with_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
    fds = array.array("i")
    size = _HEADER.size
    data, ancdata, _flags, _addr = sock.recvmsg(size, socket.CMSG_LEN(with_fds * fds.itemsize))
    for level, kind, cmsg in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(cmsg[: len(cmsg) - (len(cmsg) % fds.itemsize)])
    if not data:
        return None, list(fds)
    while len(data) < size:
        data += sock.recv(size - len(data))
    (length,) = _HEADER.unpack(data)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None, list(fds)
        body += chunk
    return json.loads(body), list(fds)


# -- the zygote process ---------------------------------------------------------------------------


def _serve(sock: socket.socket) -> dict[str, Any]:
    """Fork a child per request; returns only in a child, with its request."""
    while True:
        request, fds = _recv(sock, with_fds=3)
        if request is None:
            sys.exit(0)  # the test process has gone
        pid = os.fork()
        if pid == 0:
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            for fd in fds:
                os.close(fd)
            sock.close()
            return request
        for fd in fds:
            os.close(fd)
        _send(sock, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _send(sock, {"pid": pid, "status": status})


def _child(request: dict[str, Any]) -> None:
    """Become `python -m bot ARGS` started in `cwd` with `env`."""
    import random
    import runpy

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    random.seed()  # a fresh process draws its own numbers
    sys.argv = [request["main"], *request["args"]]
    sys.path[0] = request["cwd"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


def main() -> None:
    import importlib

    sock = socket.socket(fileno=int(sys.argv[1]))
    for name in PRELOAD:
        importlib.import_module(name)
    _send(sock, {"ready": True})
    _child(_serve(sock))


# -- the test process's side ---------------------------------------------------------------------


class Zygote:
    """The test process's handle on its zygote; `run` is `subprocess.run` for `python -m bot ARGS`."""

    _shared: Zygote | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        root = Path(__file__).resolve().parent.parent
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.zygote", str(theirs.fileno())],
            cwd=root,
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # an xdist worker's stdout is its channel to the controller
        )
        theirs.close()
        self.sock = mine
        ready, _ = _recv(mine)
        if not ready:
            raise RuntimeError("the tuike zygote did not start")
        atexit.register(self.close)

    def close(self) -> None:
        """Hang up: the zygote exits when its socket closes."""
        self.sock.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @classmethod
    def shared(cls) -> Zygote:
        with cls._lock:
            if cls._shared is None or cls._shared.process.poll() is not None:
                cls._shared = cls()
            return cls._shared

    def run(
        self,
        args: list[str],
        *,
        cwd: Path,
        input: str | None,
        timeout: float,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`env`: the process's whole environment (default: the test's)."""
        import bot

        with self._lock:
            return self._run(args, cwd=cwd, input=input, timeout=timeout, env=env, main=bot.__file__)

    def _run(
        self,
        args: list[str],
        *,
        cwd: Path,
        input: str | None,
        timeout: float,
        env: dict[str, str] | None,
        main: str,
    ) -> subprocess.CompletedProcess[str]:
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        request = {
            "args": args,
            "cwd": str(Path(cwd).resolve()),
            "env": dict(os.environ) if env is None else dict(env),
            "main": str(Path(main).parent / "__main__.py"),
        }
        _send(self.sock, request, [stdin_r, stdout_w, stderr_w])
        for fd in (stdin_r, stdout_w, stderr_w):
            os.close(fd)
        started, _ = _recv(self.sock)
        assert started is not None, "the tuike zygote died"
        pid = int(started["pid"])
        out: list[bytes] = []
        err: list[bytes] = []

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError), open(stdin_w, "wb") as stream:
                stream.write((input or "").encode())

        def drain(fd: int, into: list[bytes]) -> None:
            with open(fd, "rb") as stream:
                into.append(stream.read())

        threads = [
            threading.Thread(target=feed, daemon=True),
            threading.Thread(target=drain, args=(stdout_r, out), daemon=True),
            threading.Thread(target=drain, args=(stderr_r, err), daemon=True),
        ]
        for thread in threads:
            thread.start()
        self.sock.settimeout(timeout)
        try:
            finished, _ = _recv(self.sock)
        except TimeoutError:
            os.kill(pid, 9)
            self.sock.settimeout(None)
            _recv(self.sock)
            for thread in threads:
                thread.join()
            raise subprocess.TimeoutExpired(["tuike", *args], timeout) from None
        finally:
            self.sock.settimeout(None)
        for thread in threads:
            thread.join()
        assert finished is not None, "the tuike zygote died"
        code = os.waitstatus_to_exitcode(int(finished["status"]))
        return subprocess.CompletedProcess(
            [sys.executable, "-m", "bot", *args],
            code,
            _text(b"".join(out)),
            _text(b"".join(err)),
        )


def _text(data: bytes) -> str:
    """As `subprocess.run(text=True)` reads a stream: UTF-8 here, universal newlines."""
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


if __name__ == "__main__":
    main()
