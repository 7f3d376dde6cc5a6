"""Ctrl-C in loops that checkpoint: a flag checked between steps, so a checkpoint never holds
half a step, and a second Ctrl-C that interrupts at once."""

from __future__ import annotations

import signal
import threading


class InterruptFlag:
    """While active (``with``), the first SIGINT sets ``raised``; a second raises
    :class:`KeyboardInterrupt`. Outside the main thread it does nothing (signals go there)."""

    def __init__(self):
        self.raised = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
