"""Deep-Emotion Lab: the attentional facial-expression network, its data, training and explanations.

No Streamlit or Plotly here (DESIGN.md rule 1): everything the dashboard shows is a function
of this package.
"""

from deep_emotion.emotions import EMOTIONS
from deep_emotion.model import DeepEmotion, DeepEmotionConfig, build_model, count_parameters

__all__ = ["EMOTIONS", "DeepEmotion", "DeepEmotionConfig", "build_model", "count_parameters"]
__version__ = "0.1.0"
