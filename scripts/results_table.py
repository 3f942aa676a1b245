"""Regenerate the README's tables: results (shipped cards), ablations and studies (docs/).

    python scripts/results_table.py          # rewrite README.md in place
    python scripts/results_table.py --check  # exit 1 if README.md is stale
"""

import argparse
import sys
from pathlib import Path

from deep_emotion.results import render_readme, update_readme

README = Path(__file__).resolve().parent.parent / "README.md"

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    if args.check:
        sys.exit(0 if render_readme(README) == README.read_text() else 1)
    print("README.md updated" if update_readme(README) else "README.md already current")
