"""Build step: the shipped networks and the dashboard's settings go into the wheel.

In a clone the trained networks live in ``checkpoints/`` and the dashboard's Streamlit
settings in ``.streamlit/config.toml``, both at the repository's root, where
``deep_emotion.catalog.checkpoint_dir`` and ``streamlit run dashboard/app.py`` find them.  An
installed package has no repository root, so building a wheel (``pip install .``,
``pip wheel .``) copies them into the package tree: every checkpoint with its card and
analyses to ``deep_emotion/networks/`` and the settings to ``dashboard/.streamlit/``, where
the catalog and ``deep-emotion dashboard`` look when installed.  An editable install keeps
reading them from the clone, so nothing is copied for it.  Everything else is in
pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (folder in the repository, file patterns, folder in the installed package tree)
SHIPPED = (("checkpoints", ("*.json", "*.safetensors"), "deep_emotion/networks"),
           (".streamlit", ("config.toml",), "dashboard/.streamlit"))


class BuildWithData(build_py):
    """``build_py`` that also copies ``SHIPPED`` into the build tree."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for source, patterns, target in SHIPPED:
            for path in sorted(p for pattern in patterns for p in (ROOT / source).glob(pattern)):
                dest = Path(self.build_lib) / target / path.name
                self.mkpath(str(dest.parent))
                self.copy_file(str(path), str(dest))


setup(cmdclass={"build_py": BuildWithData})
