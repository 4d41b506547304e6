"""Print a fenced code block of README.md, so CI runs the README's commands as written.

``python3 .ci/readme_block.py SECTION`` prints the first ```bash block under the
``## SECTION`` heading (matched by prefix), failing loudly if there is none: a README
edit that moves or drops the command breaks CI instead of silently testing nothing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def block(readme: str, section: str) -> str:
    """The first bash block of the section whose heading starts with ``section``."""
    parts = re.split(r"^## ", readme, flags=re.MULTILINE)
    for part in parts[1:]:
        if part.startswith(section):
            found = re.search(r"^```bash\n(.*?)^```", part, flags=re.MULTILINE | re.DOTALL)
            if found:
                return found.group(1)
    raise SystemExit(f"README.md: no ```bash block under a '## {section}...' heading")


if __name__ == "__main__":
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    sys.stdout.write(block(readme, sys.argv[1]))
