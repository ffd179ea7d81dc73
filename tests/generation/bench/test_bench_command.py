"""`manage.py bench` writes under DATA_DIR/bench/ and touches docs/ only with --publish
(the sections themselves are replaced by stand-ins: this tests the command, not the figures)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from generation.management.commands import bench


@pytest.fixture
def stand_ins(monkeypatch, settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.BASE_DIR = tmp_path / "repo"
    (settings.BASE_DIR / "docs" / "frames").mkdir(parents=True)
    ran = []

    def section(name):
        def run(self, quick, results, *extra):
            ran.append(name)
            if name == "frames":
                (out_dir,) = extra
                out_dir.mkdir(parents=True, exist_ok=True)
                (out_dir / "open.png").write_bytes(b"png")
                return {"open": {"frame": 3, "aperture": 0.4, "file": "open.png"}}
            if name == "fuzz":
                raise RuntimeError("no server here")
            return {"summary": f"{name} figure -> MET", "quick": quick}
        return run

    for name in bench.SECTIONS:
        monkeypatch.setattr(bench.Command, f"_{name}", section(name))
    return settings, ran


def test_results_go_to_the_data_dir_and_docs_stay_untouched(stand_ins, capsys):
    settings, ran = stand_ins
    call_command("bench", "--quick")
    out_dir = settings.DATA_DIR / "bench"
    results = json.loads((out_dir / "latest.json").read_text())
    assert ran == list(bench.SECTIONS) and results["quick"] is True
    assert results["fuzz"] == {"error": "RuntimeError: no server here"}  # one broken section hides nothing else
    page = (out_dir / "benchmarks.md").read_text()
    assert "- speed: speed figure -> MET" in page and "![open vowel](frames/open.png)" in page
    assert (out_dir / "frames" / "open.png").exists()
    assert list((settings.BASE_DIR / "docs").rglob("*")) == [settings.BASE_DIR / "docs" / "frames"]
    printed = capsys.readouterr().out
    assert "== targets" in printed and "background: background figure -> MET" in printed


def test_publish_copies_the_page_and_frames_to_docs(stand_ins):
    settings, _ = stand_ins
    call_command("bench", "--publish")
    docs = settings.BASE_DIR / "docs"
    assert (docs / "benchmarks.md").read_text() == (settings.DATA_DIR / "bench" / "benchmarks.md").read_text()
    assert (docs / "frames" / "open.png").read_bytes() == b"png"


def test_only_runs_the_named_sections_and_cannot_publish(stand_ins):
    settings, ran = stand_ins
    call_command("bench", "--only", "background", "memory")
    assert ran == ["memory", "background"]
    with pytest.raises(CommandError, match="every section"):
        call_command("bench", "--only", "background", "--publish")
    assert not (settings.BASE_DIR / "docs" / "benchmarks.md").exists()
