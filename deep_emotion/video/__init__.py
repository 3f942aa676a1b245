"""Faces in motion: a clip (or a camera's frames) -> tracked faces -> emotion over time.

The path every clip takes (CLI, Video page)::

    file or bytes --VideoReader--> timed RGB frames --FrameSampler--> the frames to read
        --FaceTracker--> faces with identities (detection every k frames, optical flow between)
        --align_face + predict_proba--> FrameReading (faces, crops, probabilities)
        --timeline_rows--> one table row per face per sampled frame (written resumably by
          ``deep_emotion.resumable``, like the photo batch table)

``synthetic`` makes licence-clean clips (tests, benchmarks).  The live camera's drawing is the
dashboard's (``dashboard/live.py``), on the same tracker.  Problems with a clip raise
``VideoError`` with a message for the person who supplied it.
"""

from deep_emotion.video.decode import (CONTAINERS, LIMITS, VideoError, VideoFrame, VideoInfo,
                                       VideoLimits, VideoReader, looks_like_video)
from deep_emotion.video.sampling import FrameSampler
from deep_emotion.video.timeline import (BASE_COLUMNS, COUNT, KEY, NO_FACE, FaceReading,
                                         FrameReading,
                                         read_timeline, timeline_columns, timeline_rows)
from deep_emotion.video.track import DETECT_EVERY, DETECT_GAP, FaceTracker, Track, box_iou

__all__ = [
    "VideoError", "VideoLimits", "VideoInfo", "VideoFrame", "VideoReader", "LIMITS", "CONTAINERS",
    "looks_like_video",
    "FrameSampler", "FaceTracker", "Track", "box_iou", "DETECT_EVERY",
    "DETECT_GAP",
    "FaceReading", "FrameReading", "read_timeline", "timeline_columns", "timeline_rows",
    "BASE_COLUMNS", "KEY", "COUNT", "NO_FACE",
]
