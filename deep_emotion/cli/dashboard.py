"""``deep-emotion dashboard [streamlit options]``: start the dashboard of the installed package.

Runs ``streamlit run`` on the ``dashboard`` package's ``app.py`` wherever it is installed (a
clone or site-packages), so it works from any folder.  Streamlit reads its settings from
``.streamlit/config.toml`` in the folder it starts in, which an installed package cannot rely
on; the dashboard's own settings (the clone's ``.streamlit/config.toml``, or the copy a wheel
carries, see ``setup.py``) are therefore passed as command-line options, before the user's,
so any option given here wins (``deep-emotion dashboard --server.port 8600``).  Streamlit is
started, never imported: the core imports no UI (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tomllib
from pathlib import Path

NAME = "dashboard"
HELP = "start the dashboard (any further options go to `streamlit run`)"
TAKES_EXTRA = True  # unknown options are Streamlit's, passed through (deep_emotion.cli.main)
CONFIG = Path(".streamlit") / "config.toml"
EXTRA = "pip install 'deep-emotion-lab[dashboard]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Streamlit options, e.g. --server.port 8600 --server.address 0.0.0.0, "
                     "follow the command; `streamlit run --help` lists them.")


def app_path() -> Path:
    """``dashboard/app.py`` of the importable ``dashboard`` package (found, not imported).

    Raises:
        ValueError: Streamlit or the dashboard package is not installed.
    """
    spec = importlib.util.find_spec("dashboard")
    if importlib.util.find_spec("streamlit") is None or spec is None or not spec.origin:
        raise ValueError(f"the dashboard needs Streamlit and the dashboard package: {EXTRA}")
    return Path(spec.origin).parent / "app.py"


def config_options(app: Path) -> list[str]:
    """The dashboard's Streamlit settings as ``--section.key=value`` options: from the
    package's own copy (an installed wheel) or the clone's root (beside ``dashboard/``)."""
    for path in (app.parent / CONFIG, app.parent.parent / CONFIG):
        if path.is_file():
            settings = tomllib.loads(path.read_text())
            return [f"--{section}.{key}={_value(value)}"
                    for section, values in settings.items() for key, value in values.items()]
    return []


def _value(value) -> str:
    """A TOML value as Streamlit's command line spells it (booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def run(args: argparse.Namespace) -> None:
    app = app_path()
    command = [sys.executable, "-m", "streamlit", "run", str(app), *config_options(app),
               *args.extra]
    sys.stdout.flush()
    os.execv(sys.executable, command)  # Streamlit takes over the process, signals and all
