"""The compiled catalogs (.mo) ship with the code, so the English switch works after a plain
``pip install -e .`` (no make step), they match their .po, and ``flask doctor`` notices one missing."""
import shutil
import subprocess

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from gridapp.cli import catalog_problems
from gridapp.config import PROJECT_ROOT

TRANSLATIONS = PROJECT_ROOT / "gridapp" / "translations"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"


def test_the_compiled_english_catalog_is_part_of_the_source_tree():
    if not (PROJECT_ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(MO)], cwd=PROJECT_ROOT).returncode == 0
    assert not ignored, "messages.mo is git-ignored: a fresh clone installed with pip has no English"
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(MO)], cwd=PROJECT_ROOT,
                             capture_output=True).returncode == 0
    assert tracked, "messages.mo is not committed"


def test_the_compiled_catalog_matches_its_po():
    with PO.open("rb") as source:
        wanted = {m.id: m.string for m in read_po(source, locale="en") if m.id and m.string and not m.fuzzy}
    with MO.open("rb") as compiled:
        got = {m.id: m.string for m in read_mo(compiled) if m.id}
    stale = sorted(str(k) for k in wanted if got.get(k) != wanted[k])
    assert not stale, f"messages.mo is behind messages.po (run: pybabel compile -d gridapp/translations): {stale[:5]}"


def test_catalog_problems_names_a_missing_or_stale_catalog(tmp_path):
    folder = tmp_path / "translations"
    (folder / "en" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(PO, folder / "en" / "LC_MESSAGES" / "messages.po")
    [missing] = catalog_problems(folder, ("zh_CN", "en"), "zh_CN")
    assert "'en'" in missing and "not compiled" in missing
    shutil.copy(MO, folder / "en" / "LC_MESSAGES" / "messages.mo")
    assert catalog_problems(folder, ("zh_CN", "en"), "zh_CN") == []


def test_doctor_reports_a_missing_catalog(runner, monkeypatch, tmp_path):
    import gridapp.cli

    monkeypatch.setattr(gridapp.cli, "translations_dir", lambda: tmp_path)
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert "FAIL message catalog for 'en' is not compiled" in result.output
    monkeypatch.setattr(gridapp.cli, "translations_dir", lambda: TRANSLATIONS)
    assert "ok   message catalogs compiled: en" in runner.invoke(args=["doctor"]).output
