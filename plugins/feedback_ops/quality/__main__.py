"""``python -m feedback_ops.quality``: regenerate the committed GX project from ``suites.py``."""

from feedback_ops.quality.project import main

main()
