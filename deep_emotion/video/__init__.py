"""Faces in motion: a clip (or a camera's frames) -> tracked faces -> emotion over time.

The path every clip takes (CLI, Video page)::

    file or bytes --VideoReader--> timed RGB frames --FrameSampler--> the frames to read
        --FaceTracker--> faces with identities (detection every k frames, optical flow between)
        --align_face + predict_proba--> FrameReading (faces, crops, probabilities)
        --csv_rows--> one CSV row per face per sampled frame

``overlay`` draws boxes, labels and the STN attention onto frames (the live camera page).
Problems with a clip raise ``VideoError`` with a message for the person who supplied it.
"""

from deep_emotion.video.csvfile import ResumableCsv
from deep_emotion.video.decode import (CONTAINERS, LIMITS, VideoError, VideoFrame, VideoInfo,
                                       VideoLimits, VideoReader, looks_like_video)
from deep_emotion.video.sampling import FrameSampler
from deep_emotion.video.timeline import (BASE_COLUMNS, FaceReading, FrameReading, csv_rows,
                                         read_timeline, timeline_columns)
from deep_emotion.video.track import DETECT_EVERY, FaceTracker, Track, box_iou

__all__ = [
    "VideoError", "VideoLimits", "VideoInfo", "VideoFrame", "VideoReader", "LIMITS", "CONTAINERS",
    "looks_like_video",
    "FrameSampler", "FaceTracker", "Track", "box_iou", "DETECT_EVERY",
    "FaceReading", "FrameReading", "read_timeline", "timeline_columns", "csv_rows",
    "BASE_COLUMNS", "ResumableCsv",
]
