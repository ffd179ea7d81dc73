"""Peak memory of a worker-sized job: a 60 s 1080p render in its own process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings

from generation.bench.media import astronaut_png, speech_wav


def render_peak_memory(seconds: float = 60.0, resolution: str = "1080p") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = astronaut_png(tmp / "astronaut.png")
        audio, _ = speech_wav(tmp / "speech.wav", seconds)
        # The child reports its own peak RSS (KiB on Linux) as its last line.
        code = (
            "import resource, sys, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'paksatalker_site.settings'); "
            "django.setup(); from django.core.management import call_command; "
            f"call_command('render', image={str(image)!r}, audio={str(audio)!r}, resolution={resolution!r}, "
            f"expressionEngine='none', out={str(tmp / 'out.mp4')!r}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        proc = subprocess.run([sys.executable, "-c", code], cwd=settings.BASE_DIR,
                              capture_output=True, text=True, check=True)
        peak_kb = int(proc.stdout.strip().splitlines()[-1])
    return {"clip_s": seconds, "resolution": resolution, "peak_rss_mb": round(peak_kb / 1024.0, 1), "target_mb": 1536}
