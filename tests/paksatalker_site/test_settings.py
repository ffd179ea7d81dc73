"""The DJANGO_HTTPS switch: with it, DEBUG off and a real secret key, check --deploy is clean."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.service import ROOT


def _check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "paksatalker_site.settings", "PAKSA_DATA_DIR": str(tmp_path),
                   "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50), **env}
    for name in ("DJANGO_HTTPS", "DJANGO_HSTS_SECONDS", "PAKSA_CORS_ORIGINS", "PAKSA_CORS_ALLOW_CREDENTIALS"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_the_https_switch_and_warns_without_it(tmp_path):
    clean = _check_deploy(tmp_path, DJANGO_HTTPS="1")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "System check identified no issues" in clean.stdout
    plain = _check_deploy(tmp_path)
    assert plain.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):  # HSTS, redirect, cookies
        assert warning in plain.stderr + plain.stdout


def test_cors_wildcard_with_credentials_refuses_to_start(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import paksatalker_site.settings"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PAKSA_DATA_DIR": str(tmp_path), "PAKSA_CORS_ORIGINS": "*",
                                 "PAKSA_CORS_ALLOW_CREDENTIALS": "true"}, timeout=60)
    assert result.returncode != 0 and "cannot be combined with PAKSA_CORS_ALLOW_CREDENTIALS" in result.stderr
