"""MkDocs hook: repository files that the docs link to (examples, BENCHMARKS.md) become part of the site.

The pages under ``docs/`` link to files elsewhere in the repository the way a
reader browsing the repository follows them: ``../examples/finetune.py``,
``../BENCHMARKS.md#input-pipeline``. MkDocs only knows the files under
``docs/``, so this hook

1. adds every repository file such a link names to the build (a ``.md`` file
   becomes a page, anything else is copied as it is), at its repository path;
2. rewrites those links, in top-level pages, to point at the copies, so that
   MkDocs checks them (``--strict`` fails on a link to a file that does not
   exist, and on an anchor that does not exist in a page).
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# ](../path) or ](../path#anchor) in a top-level page; the path must not go back into docs/.
LINK = re.compile(r"\]\(\.\./(?!docs/)([^)#\s]+)((?:#[^)\s]*)?)\)")
DOCS_LINK = re.compile(r"\]\(docs/")
_added: set[str] = set()


def _linked_paths() -> set[str]:
    paths = set()
    for page in DOCS.glob("*.md"):
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            paths.add(match.group(1))
    return paths


def on_files(files: Files, config) -> Files:
    """Adds the repository files the top-level pages link to."""
    for rel in sorted(_linked_paths()):
        if not (ROOT / rel).is_file():
            continue  # left for MkDocs to report as a broken link
        if files.get_file_from_path(rel) is None:
            files.append(File(rel, str(ROOT), config["site_dir"], config["use_directory_urls"]))
            _added.add(rel)
    return files


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Points ``../path`` links of top-level pages at the copies added by `on_files`.

    A repository page added by `on_files` (``BENCHMARKS.md``) links to the docs as ``docs/page.md``;
    those links are pointed at the pages.
    """
    if page.file.src_uri in _added:
        return DOCS_LINK.sub("](", markdown)
    if "/" in page.file.src_uri:
        return markdown
    return LINK.sub(lambda m: f"]({m.group(1)}{m.group(2)})", markdown)
