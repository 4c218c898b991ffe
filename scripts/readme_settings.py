"""Keep the README's settings tables equal to the plugins' own description.

The tables are the "Settings" part of ``<plugin> --about --format=markdown``,
placed between ``<!-- settings:<plugin>:begin -->`` and
``<!-- settings:<plugin>:end -->`` in README.md. ``scripts/update-readme-settings``
rewrites them; ``tests/test_metadata.py`` fails when they drift.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PLUGINS = {
    "tap-hubspot-courses": "tap_hubspot_courses",
    "target-hubspot-courses": "target_hubspot_courses",
}


def about_markdown(plugin: str) -> str:
    """Return ``<plugin> --about --format=markdown``, run with this interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", PLUGINS[plugin], "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    return result.stdout


def settings_table(about: str) -> str:
    """Cut the settings table out of the ``--about`` markdown."""
    lines = about.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("| Setting"))
    except StopIteration:
        raise SystemExit("no settings table in the --about output") from None
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end]) + "\n"


def markers(plugin: str) -> tuple[str, str]:
    """Return the begin and end markers of a plugin's table."""
    return (f"<!-- settings:{plugin}:begin -->", f"<!-- settings:{plugin}:end -->")


def render(readme: str, tables: dict[str, str]) -> str:
    """Return ``readme`` with each plugin's table between its markers."""
    for plugin, table in tables.items():
        begin, end = markers(plugin)
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        found = pattern.search(readme)
        if found is None:
            raise SystemExit(f"README.md lacks the markers {begin} ... {end}")
        block = f"{begin}\n{table}{end}"
        readme = readme[: found.start()] + block + readme[found.end() :]
    return readme


def expected_readme() -> str:
    """Return README.md as it should be, with freshly generated tables."""
    tables = {plugin: settings_table(about_markdown(plugin)) for plugin in PLUGINS}
    return render(README.read_text(encoding="utf-8"), tables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only report whether README.md is current"
    )
    args = parser.parse_args()
    current = README.read_text(encoding="utf-8")
    wanted = expected_readme()
    if args.check:
        if current != wanted:
            print(
                "README.md settings tables are out of date; run "
                "'bash scripts/update-readme-settings'",
                file=sys.stderr,
            )
            return 1
        print("README.md settings tables are up to date")
        return 0
    if current != wanted:
        README.write_text(wanted, encoding="utf-8")
        print("README.md settings tables rewritten")
    else:
        print("README.md settings tables already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
