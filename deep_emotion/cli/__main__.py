"""``python -m deep_emotion.cli`` is the ``deep-emotion`` command."""

import sys

from deep_emotion.cli import main

sys.exit(main())
