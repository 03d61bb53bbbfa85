"""docs/self-hosting.md: its settings and sizing tables are what the code and figures give, its
links resolve, and the README points at it."""

from __future__ import annotations

import re

import settings_doc
import sizing
from conftest import ROOT

GUIDE = ROOT / "docs/self-hosting.md"


def test_the_settings_table_is_generated_from_the_config_source():
    assert settings_doc.main([]) == 0, "run make settings-doc"
    names = [s.name for s in settings_doc.settings()]
    assert {"listen", "database_url", "smtp_url", "superuser_emails"} <= set(names)
    for name in names:
        assert f"| `{name}` |" in GUIDE.read_text(), name


def test_the_sizing_table_is_computed_from_the_figures():
    assert sizing.main([]) == 0, "run python3 tests/deploy/sizing.py --write"


def test_relative_links_resolve():
    text = GUIDE.read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith("#"):
            assert target[1:] in anchors, target
        elif not target.startswith("http"):
            assert (GUIDE.parent / target).exists(), target


def test_the_readme_links_the_guide():
    assert "docs/self-hosting.md" in (ROOT / "README.md").read_text()
