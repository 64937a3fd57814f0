"""The simulator in a child process, for the demo and the benchmarks.

A separate process keeps the simulator's Python work off the client's core and event
loop, as a real venue would be. The child prints one JSON line with its ports when ready
(``--json-ready``); ``SimProcess`` reads it and talks to the debug endpoints over HTTP.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any


class SimProcess:
    """``python -m fastfeed.sim --json-ready --quiet ARGS...`` as a child process."""

    def __init__(self, args: list[str]) -> None:
        """Prepare the command line; nothing runs until :meth:`start`."""
        self.cmd = [sys.executable, "-m", "fastfeed.sim", "--json-ready", "--quiet", *args]
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()
        self.ready: dict[str, Any] = {}

    def start(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start the child and wait for its ready line (ports and URLs); returns it."""
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise RuntimeError(f"simulator not ready after {timeout:.0f}s")
            ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"simulator exited: {self.stderr_tail()}")
                self.ready = json.loads(line)
                return self.ready
            if self.proc.poll() is not None:
                raise RuntimeError(f"simulator exited ({self.proc.returncode}): "
                                   f"{self.stderr_tail()}")

    def ws_url(self, venue: str) -> str:
        """WebSocket base URL for ``venue``."""
        return str(self.ready["urls"][venue]["ws"])

    def rest_url(self, venue: str) -> str:
        """REST base URL for ``venue``."""
        return str(self.ready["urls"][venue]["rest"])

    def debug(self, path: str, body: dict[str, Any] | None = None,
              query: dict[str, Any] | None = None, timeout: float = 60.0) -> Any:
        """Call a debug endpoint (POST with ``body``, else GET); returns the JSON reply.
        ``timeout`` is generous: a child streaming to thousands of books on a loaded
        machine answers its debug port late, not never."""
        from urllib.parse import urlencode

        url = f"http://127.0.0.1:{self.ready['rest_port']}{path}"
        if query:
            url += "?" + urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def stderr_tail(self) -> str:
        """The end of the child's stderr (for error messages)."""
        self._stderr.seek(0)
        return self._stderr.read()[-2000:].decode("utf-8", "replace").strip()

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL if it lingers)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._stderr.close()

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
