"""The edges of an ``rlstar`` process: Ctrl-C, a closed pipe, third-party warnings, thread counts.

* **SIGINT** at any moment ends the command with ``rlstar: interrupted`` and status 130. While
  the package is still being imported (the first fraction of a second, before :func:`main` can
  catch anything) :func:`guard_startup` installs a handler that prints that line and exits at
  once (nothing has been written yet); :func:`star_theory.cli.main` then restores Python's
  handler, so that an interrupt becomes :class:`KeyboardInterrupt`, which unwinds through the
  atomic writers (their temporary files are removed) to ``main``.
* **SIGPIPE**: when stdout's reader goes away (``rlstar theory | head``) the command stops
  quietly with status 141 (128 + SIGPIPE), as Unix tools do.
* **Warnings** of third-party libraries (transformers' FutureWarnings, ...) are not printed: an
  error stays one line.
* ``--threads`` is capped at the CPU count (:func:`cap_threads`).
"""

from __future__ import annotations

import os
import signal
import sys
import warnings

from .errors import InputError

INTERRUPTED = "rlstar: interrupted\n"
OUR_PACKAGES = r"^(star_theory|llm|experiments)(\.|$)"


def _is_cli() -> bool:
    """Whether this process is the ``rlstar`` command (console script or ``python -m``)."""
    argv = list(getattr(sys, "orig_argv", ()) or ())
    if sys.argv and os.path.basename(sys.argv[0]) in ("rlstar", "rlstar.exe"):
        return True
    return any(a == "-m" and i + 1 < len(argv) and argv[i + 1] in ("star_theory.cli", "llm")
               for i, a in enumerate(argv))


def _exit_interrupted(signum, frame):  # pragma: no cover - exercised in a subprocess
    try:
        os.write(2, INTERRUPTED.encode())
    finally:
        os._exit(130)


def guard_startup() -> None:
    """In the ``rlstar`` process, make a Ctrl-C during the imports exit with the CLI's line."""
    if _is_cli() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        try:
            signal.signal(signal.SIGINT, _exit_interrupted)
        except ValueError:  # not the main thread
            pass


_SEEN = {"sigint": False}


def _raise_interrupt(signum, frame):  # pragma: no cover - exercised in a subprocess
    """Python's own SIGINT behaviour (a KeyboardInterrupt), remembered: an interrupt that lands in
    C code (numpy's lazy import turns it into an ImportError) is still known to be one."""
    _SEEN["sigint"] = True
    raise KeyboardInterrupt


def was_interrupted() -> bool:
    """Whether a SIGINT arrived since :func:`enter_main`."""
    return _SEEN["sigint"]


def enter_main() -> None:
    """From here on an interrupt is a KeyboardInterrupt (caught by ``main``; remembered, see
    :func:`was_interrupted`); warnings of other libraries are silenced."""
    if _is_cli() and signal.getsignal(signal.SIGINT) in (_exit_interrupted, signal.default_int_handler):
        try:
            signal.signal(signal.SIGINT, _raise_interrupt)
        except ValueError:  # not the main thread
            pass
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=OUR_PACKAGES)
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def interrupted() -> int:
    """Print the interrupt line; from here a second Ctrl-C cannot raise a traceback."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        pass
    try:
        sys.stderr.write(INTERRUPTED)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if _is_cli():
        # The interpreter remembers a KeyboardInterrupt that crossed C-level code during the imports
        # (even one caught later) and would end the process by SIGINT (status -2) instead of 130:
        # the command has unwound (temporary files removed), so flush and leave with 130 now.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(130)
    return 130


def broken_pipe() -> int:
    """stdout's reader has gone: stop quietly (later flushes go to /dev/null)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 128 + signal.SIGPIPE


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cap_threads(threads: int, name: str = "threads") -> int:
    """``threads`` (>= 1) capped at :func:`cpu_count` (a larger count only oversubscribes)."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"{name} must be an integer >= 1, got {threads!r}")
    return min(threads, cpu_count())
