"""FrameSampler: every N-th frame by index, F frames per second by timestamp."""

import pytest

from deep_emotion.video import FrameSampler


def _taken(sampler, times):
    return [t for i, t in enumerate(times) if sampler.take(i, t)]


def test_every_n_takes_frames_by_decoding_index():
    assert _taken(FrameSampler(every=3), [i / 30 for i in range(10)]) == \
        pytest.approx([0, 0.1, 0.2, 0.3])


def test_fps_samples_evenly_in_time_at_a_constant_rate():
    times = [i / 30 for i in range(61)]  # 2 s at 30 frames/s
    assert _taken(FrameSampler(fps=5), times) == pytest.approx([i / 5 for i in range(11)])


def test_fps_follows_timestamps_through_a_variable_frame_rate():
    # 30 frames/s for half a second, then a dark stretch at 5 frames/s.  Ticks every 0.25 s:
    # each takes the first frame at or after it (0.7 s comes before the 0.75 s tick, 0.9 s
    # serves it), and no tick is served twice.
    times = [i / 30 for i in range(15)] + [0.5 + i / 5 for i in range(6)]
    assert _taken(FrameSampler(fps=4), times) == pytest.approx([0, 0.2667, 0.5, 0.9, 1.1, 1.3,
                                                                1.5], abs=1e-3)


def test_no_option_takes_every_frame_and_expected_counts_follow_the_header():
    assert FrameSampler().expected(90, 3.0) == 90
    assert FrameSampler(every=4).expected(90, 3.0) == 23
    assert FrameSampler(fps=2).expected(0, 3.0) == 6
    assert FrameSampler(fps=2).expected(0, None) is None


@pytest.mark.parametrize("kwargs, message", [
    ({"every": 2, "fps": 3}, "not both"), ({"every": 0}, "--every must be 1 or more"),
    ({"fps": 0}, "--fps must be above 0"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FrameSampler(**kwargs)


def test_a_gap_longer_than_a_period_skips_its_ticks_and_makes_none_up():
    # 4 frames/s (ticks every 0.25 s); the stream stalls from 0.3 s to 1.3 s.  The frame at
    # 1.3 s serves the tick of 1.25 s; the ticks of 0.5-1.0 s are gone, so 1.4 s is not
    # taken to catch up: the next tick is 1.5 s, then 1.75 s.
    times = [0.0, 0.1, 0.2, 0.3, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9]
    assert _taken(FrameSampler(fps=4), times) == pytest.approx([0.0, 0.3, 1.3, 1.5, 1.8])


def test_ticks_count_from_the_first_frame_when_the_stream_starts_after_zero():
    times = [0.1 + i / 30 for i in range(30)]  # 1 s at 30 frames/s from 0.1 s
    # ticks at 0.1, 0.35, 0.6, 0.85 s: the first frame at or after each
    assert _taken(FrameSampler(fps=4), times) == pytest.approx([0.1, 0.3667, 0.6, 0.8667],
                                                               abs=1e-3)
