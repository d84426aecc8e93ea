"""`python -m govern.tether PARENT_PID COMMAND...`: COMMAND in a session of its own, sent a TERM when its parent dies.

`make run` starts the server, the worker and the demo camera in sessions of their own, so the terminal's Ctrl-C reaches
only the script, which stops them one at a time. A script killed outright (SIGKILL, an out-of-memory kill, a closed
container) stops nothing, and they lived on as orphans holding the port and the queues. Linux's parent-death signal,
which outlives exec, ties each to the script: the kernel sends the TERM the script no longer can.
"""

import contextlib
import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python -m govern.tether PARENT_PID COMMAND [ARG...]", file=sys.stderr)
        return 2
    with contextlib.suppress(PermissionError):  # already a group leader, so out of the terminal's foreground group
        os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != int(argv[0]):  # the parent died before the signal was asked for: nothing would send it
        return 1
    os.execvp(argv[1], argv[1:])  # noqa: S606 - the command is make run's own, as given


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
