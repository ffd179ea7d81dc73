"""Fast start: what a fresh process imports to answer capabilities, decide the engine
chain or print `render --help`, and the services <-> tasks import cycle that is gone.

Each check runs in a new interpreter: this test process has long imported everything.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "scipy", "onnxruntime")

CHAIN_AND_CAPABILITIES = """
import json, sys
import django
django.setup()
from generation.capabilities import capabilities_get
from generation.engines import engines_get
from generation.pipeline.engines.chain import engine_order

caps = capabilities_get()
chain, skipped = engine_order(engines_get())
runnable = [engine.name for engine in chain if engine.availability().available]
print(json.dumps({"runnable": runnable, "wav2lip": caps["models"]["wav2lip2"],
                  "loaded": [name for name in sys.argv[1:] if name in sys.modules]}))
"""

LIGHT_PACKAGES = """
import json, sys
import django
django.setup()
import generation.services
import generation.tasks
before = [name for name in ("generation.services.running", "generation.services.submission", "generation.pipeline.render",
                            "generation.schemas") if name in sys.modules]
from generation.services import job_run
from generation.services.running import job_run as running_job_run
print(json.dumps({"before": before, "same": job_run is running_job_run}))
"""


def _python(code: str, *args: str, env: dict, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *flags, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def _env(tmp_path) -> dict:
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    # No SadTalker, no weights: the chain is decided from files and settings alone.
    return {"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path), "PAKSA_DATA_DIR": str(tmp_path / "data"),
            "PAKSA_MODELS_DIR": str(models), "DJANGO_SETTINGS_MODULE": "paksatalker_site.settings"}


def test_capabilities_and_the_engine_chain_import_neither_torch_scipy_nor_onnxruntime(tmp_path):
    done = _python(CHAIN_AND_CAPABILITIES, *HEAVY, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["runnable"] == ["native", "still"] and answer["wav2lip"] is False
    assert answer["loaded"] == []


def test_render_help_imports_no_render_code(tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "manage.py", "render", "--help"], cwd=ROOT, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--resolution" in done.stdout, done.stderr
    # -X importtime writes one "import time: self | cumulative | module" line per import.
    imported = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "django.core.management" in imported  # the listing is real
    assert imported & {*HEAVY, "mediapipe", "numba", "cv2", "generation.pipeline.render", "generation.schemas"} == set()


def test_services_and_tasks_do_not_import_each_other(tmp_path):
    done = _python(LIGHT_PACKAGES, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer == {"before": [], "same": True}  # job_run loads on first use


def _module_level_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_task_modules_import_services_only_inside_the_tasks():
    for name in ("tasks.py", "tasks_maintenance.py"):
        imports = _module_level_imports(ROOT / "generation" / name)
        assert "huey.contrib.djhuey" in imports
        assert [i for i in imports if i.startswith("generation.services")] == [], name
