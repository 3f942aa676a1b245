"""Which decoded frames are read: every N-th frame, or F frames per second of clip time.

``--fps`` goes by timestamps, not frame counts, so a variable-frame-rate clip (phones drop to
15 frames/s in the dark) is still sampled evenly in time: the sampler takes the first frame at
or after each tick ``t0, t0 + 1/F, t0 + 2/F, ...``, and a tick that falls in a gap is skipped,
never made up by taking two frames at once.
"""

from __future__ import annotations

__all__ = ["FrameSampler"]

_EPS = 1e-6  # seconds: timestamps are rationals turned floats; a tick hit exactly counts


class FrameSampler:
    """Decides, frame by frame in decoding order, whether a frame is sampled.

    Args:
        every: take frames 0, N, 2N, ... (by decoding index).
        fps: take at most F frames per second of clip time (by timestamp).
        At most one of the two; neither takes every frame.

    Example::

        >>> s = FrameSampler(fps=2)
        >>> [t for t in (0.0, 0.1, 0.45, 0.5, 0.9, 1.6) if s.take(0, t)]
        [0.0, 0.5, 1.6]
    """

    def __init__(self, *, every: int | None = None, fps: float | None = None):
        if every is not None and fps is not None:
            raise ValueError("give --every or --fps, not both")
        if every is not None and every < 1:
            raise ValueError(f"--every must be 1 or more, got {every}")
        if fps is not None and not fps > 0:
            raise ValueError(f"--fps must be above 0, got {fps}")
        self.every, self.fps = every, fps
        self._next_tick: float | None = None

    def take(self, index: int, time: float) -> bool:
        """Whether the frame with decoding ``index`` and timestamp ``time`` (s) is sampled."""
        if self.fps is None:
            return index % (self.every or 1) == 0
        if self._next_tick is None:
            self._next_tick = time
        if time + _EPS < self._next_tick:
            return False
        period = 1.0 / self.fps
        # The next tick after this frame (ticks missed in a gap are dropped, not caught up).
        missed = int((time + _EPS - self._next_tick) // period)
        self._next_tick += (missed + 1) * period
        return True

    def expected(self, frames: int, duration: float | None) -> int | None:
        """About how many frames will be sampled (for progress bars); None when unknown."""
        if self.fps is not None:
            return None if duration is None else max(1, round(duration * self.fps))
        if frames <= 0:
            return None
        return -(-frames // (self.every or 1))

    def describe(self) -> str:
        if self.fps is not None:
            return f"{self.fps:g} frames per second of clip time"
        return "every frame" if (self.every or 1) == 1 else f"one frame in {self.every}"
