"""Dataset loaders, one module per source, behind one registry.

Every loader has the signature ``load(root, split=None) -> FaceDataset`` where ``root`` is the
datasets root (``--data-dir`` or ``$DEEP_EMOTION_DATA``) holding one folder per source
(``fer2013/``, ``ferplus/``, ``ckplus/``, ``jaffe/``, ``ferg/``).  New sources slot in with ``register``.  A user's own labelled files
load under a source spec instead of a name: ``folder:PATH`` or ``csv:FILE``
(``deep_emotion.data.userdata``), accepted everywhere a name is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from deep_emotion.data.base import DatasetError, FaceDataset

__all__ = ["FaceDataset", "DatasetError", "DATASETS", "LAYOUTS", "register", "load_dataset",
           "data_root", "DATA_ENV"]

DATA_ENV = "DEEP_EMOTION_DATA"
# Where each shipped loader looks under the datasets root (each module's docstring has detail),
# for messages that tell whoever runs a server where to put the files.
LAYOUTS = {
    "fer2013": "fer2013/fer2013.csv",
    "ferplus": "ferplus/fer2013new.csv, beside fer2013/fer2013.csv",
    "ckplus": "ckplus/CK+48/<emotion>/<image>.png",
    "jaffe": "jaffe/images/<subject>.<code>.<n>.tiff",
    "ferg": "ferg/FERG_DB_256/<character>/<character>_<expression>/<image>.png",
}

Loader = Callable[..., FaceDataset]
DATASETS: dict[str, Loader] = {}


def register(name: str, loader: Loader) -> None:
    """Make ``load_dataset(name, ...)`` call ``loader(root, split=...)``."""
    DATASETS[name] = loader


def data_root(data_dir: str | Path | None = None) -> Path:
    """The datasets root: ``data_dir`` if given, else $DEEP_EMOTION_DATA.

    Raises:
        DatasetError: when neither is set, saying how to set it.
    """
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV)
    if not data_dir:
        raise DatasetError(f"no datasets root: pass --data-dir or set {DATA_ENV} to a folder laid "
                           "out like fer2013/, ferplus/, ckplus/, jaffe/, ferg/ (see README)")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DatasetError(f"datasets root {root} is not a folder")
    return root


def load_dataset(name: str, data_dir: str | Path | None = None, split: str | None = None) -> FaceDataset:
    """Load a registered dataset by name from the datasets root, or a user's files by spec
    (``folder:PATH``, ``csv:FILE``; the datasets root is then not needed)."""
    from deep_emotion.data import userdata

    if userdata.is_user_spec(name):
        return userdata.load_user(name, split=split)
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}; available: {sorted(DATASETS)}, or your "
                           "own files as folder:PATH or csv:FILE")
    return DATASETS[name](data_root(data_dir), split=split)


def _register_builtin() -> None:
    from deep_emotion.data import ckplus, fer2013, ferg, ferplus, jaffe

    register("fer2013", fer2013.load)
    register("ferplus", ferplus.load)
    register("ckplus", ckplus.load)
    register("jaffe", jaffe.load)
    register("ferg", ferg.load)


_register_builtin()
