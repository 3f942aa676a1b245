"""The one preprocessing pipeline: uint8 48x48 grayscale faces -> normalised network input.

Training, evaluation, the CLI and the dashboard all go through ``Preprocessing.to_input`` so a
checkpoint always sees pixels scaled the way it was trained.  The card stores the fields, so a
checkpoint trained with other statistics rebuilds its own pipeline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

__all__ = ["Preprocessing", "DEFAULT_PREPROCESSING"]


@dataclass(frozen=True)
class Preprocessing:
    """How a face becomes a network input.

    name:  the framing the faces follow: ``"fer2013-crop"`` means a 48x48 grayscale face framed
           like FER2013 (dataset crops, or photos through ``deep_emotion.faces`` alignment).
    size:  side of the square input in pixels.
    mean, std: normalisation of pixel values scaled to [0, 1]; the defaults are the FER2013
           Training statistics (mean 0.508, std 0.255) rounded, so inputs are roughly N(0, 1).
    """

    name: str = "fer2013-crop"
    size: int = 48
    mean: float = 0.5
    std: float = 0.25

    def to_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, S, S) or (N, 1, S, S) in 0..255 -> float32 (N, 1, S, S), normalised."""
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4 or images.shape[1] != 1 or images.shape[-2:] != (self.size, self.size):
            raise ValueError(f"expected (N, {self.size}, {self.size}) grayscale images, "
                             f"got shape {tuple(images.shape)}")
        return (images.float() / 255.0 - self.mean) / self.std

    def pixel_value(self, value: float) -> float:
        """The normalised input value of a pixel intensity in 0..255 (e.g. 0 for a black baseline)."""
        return (value / 255.0 - self.mean) / self.std

    def to_pixels(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of ``to_input``: float (N, 1, S, S) -> float pixel intensities in [0, 255]."""
        return ((x * self.std + self.mean) * 255.0).clamp(0, 255)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Preprocessing":
        return cls(**data)


DEFAULT_PREPROCESSING = Preprocessing()
