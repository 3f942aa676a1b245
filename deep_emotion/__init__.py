"""Deep-Emotion Lab: the attentional facial-expression network, its data, training and explanations.

No Streamlit or Plotly here (docs/ARCHITECTURE.md): everything the dashboard shows is a function
of this package.  The names below load on first use (PEP 562), so importing a torch-free module
such as ``deep_emotion.catalog`` does not pay for importing torch.
"""

from importlib import import_module

__all__ = ["EMOTIONS", "DeepEmotion", "DeepEmotionConfig", "build_model", "count_parameters",
           "load_checkpoint", "read_photo"]
__version__ = "0.1.0"

_LAZY = {"EMOTIONS": "deep_emotion.emotions", "DeepEmotion": "deep_emotion.model",
         "DeepEmotionConfig": "deep_emotion.model", "build_model": "deep_emotion.model",
         "count_parameters": "deep_emotion.model", "load_checkpoint": "deep_emotion.checkpoints",
         "read_photo": "deep_emotion.photo"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'deep_emotion' has no attribute {name!r}")
