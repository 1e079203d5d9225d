# Copyright (c) 2026 MONAI Mamba Zoo contributors
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#     http://www.apache.org/licenses/LICENSE-2.0
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""``subprocess.run`` for Python commands, started from an interpreter that has already imported MONAI.

Every ``python -m monai.bundle ...`` a test starts used to spend 8-10 CPU-seconds importing torch, MONAI and ignite
before doing a second of work, about 150 times per suite. Here one server process per pytest worker imports them
once and forks a child per command; the child sets the command's working directory, environment, ``sys.argv`` and
``sys.path[0]`` and runs the module, script or ``-c`` code as ``__main__`` (``runpy``, which is what ``python -m``
and ``python script.py`` use), with its output in files and its exit status passed back. What it runs is the
command's own code path: only the imports are shared.

A command falls back to a plain subprocess when the server cannot reproduce a fresh interpreter for it: an
interpreter option (``-u``, ``-X``...), a program other than this Python, or an environment that differs in a
variable read when the preloaded libraries are imported (threads, CUDA, Triton, numba, Python's own). Set
``ZOO_TEST_FRESH_PROCESSES=1`` to run every command in a fresh process.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# libraries imported before forking: the ones every bundle command pays for (most of ``import monai`` is
# torchvision, torch._dynamo and ignite, all pulled in by MONAI's eager submodule loading)
PRELOAD = ("torch", "monai", "monai.bundle", "ignite.engine", "numba")
PRELOAD += ("networks.nets", "networks.handlers", "networks.transforms", "networks.layers.selective_scan_numba")
# environment variables that take effect when a preloaded library is imported: a command that changes one of
# them needs a fresh interpreter
IMPORT_TIME_ENV = ("PYTHON", "OMP_", "KMP_", "GOMP_", "MKL_", "OPENBLAS_", "NUMBA_", "TRITON_", "CUDA_", "TORCH")
IMPORT_TIME_ENV += ("PYTORCH", "LD_", "MONAI_", "MPL", "TMP", "TEMP")


def _child(request: dict, filters: tuple[list, list]) -> None:
    """Run one command in a forked child of the server; never returns. ``filters`` are the warning filters the
    preloaded libraries added and Python's defaults, which the command's ``PYTHONWARNINGS`` goes between."""
    import runpy
    import tempfile
    import threading
    import traceback
    import types
    import warnings

    os.setpgid(0, 0)  # the parent kills the whole group on timeout (DataLoader workers included)
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        tempfile.tempdir = None  # read again from TMPDIR
        # a fresh interpreter: its PYTHONWARNINGS options in front of the defaults, the libraries' filters in front
        sys.warnoptions[:] = [o for o in os.environ.get("PYTHONWARNINGS", "").split(",") if o]
        added, defaults = filters
        warnings.filters[:] = defaults
        warnings._processoptions(sys.warnoptions)
        warnings.filters[:0] = added
        warnings._filters_mutated()
        kind, target, args = request["kind"], request["target"], request["args"]
        if kind == "module":
            sys.argv = [target, *args]  # runpy replaces argv[0] with the module's file, as ``-m`` does
            sys.path[0] = os.getcwd()
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        elif kind == "script":
            sys.argv = [target, *args]
            sys.path[0] = str(Path(target).resolve().parent)
            runpy.run_path(target, run_name="__main__")
        else:
            sys.argv = ["-c", *args]
            sys.path[0] = ""
            main = types.ModuleType("__main__")  # a real __main__, so that its classes pickle as in a fresh python
            sys.modules["__main__"] = main
            exec(compile(target, "<string>", "exec"), main.__dict__)
        code = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            threading._shutdown()  # as at a normal exit: non-daemon threads are joined, executors drain
            atexit._run_exitfuncs()  # logging, TensorBoard writers and the like close as at a normal exit
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    """The server loop: one JSON request per line on stdin; replies "<pid>" then "<exit status>" on stdout."""
    import importlib
    import warnings

    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints while importing must not reach the reply channel
    defaults = list(warnings.filters)
    for name in PRELOAD:
        importlib.import_module(name)
    added = [f for f in warnings.filters if f not in defaults]  # what the libraries' imports added
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, (added, defaults))
        try:
            os.setpgid(pid, pid)  # also here, so a kill right after the fork reaches the group
        except OSError:
            pass  # the child did it first, or has already exited
        channel.write(f"{pid}\n")
        _, status = os.waitpid(pid, 0)
        channel.write(f"{os.waitstatus_to_exitcode(status)}\n")


class _Server:
    """The server of this process, started on first use and stopped when this process exits."""

    def __init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}  # each child applies its own
        # sys.path[0] is the tests folder while preloading (nothing there shadows a library); each child sets it
        code = f"import sys; sys.path[0] = {str(Path(__file__).parent)!r}; import warm_python; warm_python.serve()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=self.env, bufsize=0
        )
        self.pending = b""
        self.lock = threading.Lock()
        atexit.register(self.close)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)

    def _read_line(self, timeout: float | None) -> str | None:
        """The next reply line, or None when ``timeout`` seconds pass first (reads the pipe unbuffered, so that a
        reply already read cannot sit in a buffer while select waits)."""
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("the warm Python server stopped; run with ZOO_TEST_FRESH_PROCESSES=1 to compare")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def run(self, cmd: list[str], kind: str, target: str, args: list[str], cwd, env, timeout, text: bool):
        with self.lock, tempfile.TemporaryDirectory(prefix="warm_python_") as folder:
            out, err = Path(folder) / "stdout", Path(folder) / "stderr"
            request = dict(kind=kind, target=target, args=args, cwd=str(cwd or os.getcwd()), env=env)
            self.proc.stdin.write((json.dumps(dict(request, stdout=str(out), stderr=str(err))) + "\n").encode())
            pid = int(self._read_line(None))
            status = self._read_line(timeout)
            timed_out = status is None
            if timed_out:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                status = self._read_line(None)
            stdout, stderr = out.read_bytes(), err.read_bytes()
        if text:  # as subprocess.run(text=True): the locale's encoding, universal newlines
            encoding = locale.getpreferredencoding(False)
            stdout, stderr = (b.decode(encoding).replace("\r\n", "\n").replace("\r", "\n") for b in (stdout, stderr))
        if timed_out:
            raise subprocess.TimeoutExpired(cmd, timeout, output=stdout, stderr=stderr)
        return subprocess.CompletedProcess(cmd, int(status), stdout, stderr)


_SERVER: _Server | None = None


def _parse(cmd: list[str]) -> tuple[str, str, list[str]] | None:
    """``(kind, target, args)`` of ``[python, -m mod | -c code | script.py, args...]``; None for anything else."""
    if len(cmd) < 2 or os.path.abspath(cmd[0]) != os.path.abspath(sys.executable):  # a venv's python is a symlink
        return None
    first, rest = str(cmd[1]), [str(c) for c in cmd[2:]]
    if first in ("-m", "-c"):
        return (("module", "code")[first == "-c"], rest[0], rest[1:]) if rest else None
    if first.startswith("-"):
        return None
    return "script", first, rest


def run(cmd, *, cwd=None, env=None, timeout=None, capture_output=True, text=True, check=False):
    """``subprocess.run(cmd, cwd=..., env=..., timeout=..., capture_output=True, text=...)`` for Python commands."""
    global _SERVER
    cmd = [str(c) for c in cmd]
    env = dict(os.environ if env is None else env)
    parsed = _parse(cmd) if capture_output and not os.environ.get("ZOO_TEST_FRESH_PROCESSES") else None
    if parsed is not None:
        alive = _SERVER is not None and _SERVER.proc.poll() is None
        base = _SERVER.env if alive else os.environ  # the environment the server imported (or will import) under
        changed = {k for k in set(env) | set(base) if env.get(k) != base.get(k)}
        if any(k.startswith(IMPORT_TIME_ENV) for k in changed - {"PYTHONWARNINGS"}):
            parsed = None
    if parsed is not None and (_SERVER is None or _SERVER.proc.poll() is not None):
        _SERVER = _Server()
    if parsed is None:
        return subprocess.run(
            cmd, cwd=cwd, env=env, timeout=timeout, capture_output=capture_output, text=text, check=check
        )
    proc = _SERVER.run(cmd, *parsed, cwd=cwd, env=env, timeout=timeout, text=text)
    if check:
        proc.check_returncode()
    return proc
