"""`make bench`: speed, lip-sync quality, memory and model figures, each against a
baseline measured in the same run. Writes data/bench/latest.json too."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print PaksaTalker's benchmark figures (ratios to baselines measured in the same run)."

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="10 s clips only, no 60 s runs, small fuzz/load budgets")
        parser.add_argument("--only", nargs="*", help="sections: speed text quality memory expressions wav2lip background load fuzz frames")

    def handle(self, *args, quick=False, only=None, **opts):
        sections = [
            ("speed", self._speed), ("text", self._text), ("quality", self._quality), ("memory", self._memory),
            ("expressions", self._expressions), ("wav2lip", self._wav2lip), ("background", self._background),
            ("load", self._load), ("fuzz", self._fuzz), ("frames", self._frames),
        ]
        results: dict = {"quick": quick}
        for name, run in sections:
            if only and name not in only:
                continue
            started = time.perf_counter()
            try:
                results[name] = run(quick, results)
            except Exception as exc:  # one broken section must not hide the others
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            self.stdout.write(f"\n== {name} ({time.perf_counter() - started:.0f} s)")
            self.stdout.write(json.dumps(results[name], indent=2))
        out = settings.DATA_DIR / "bench" / "latest.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
        from generation.bench.report import markdown

        table = out.with_suffix(".md")
        table.write_text(markdown(results))
        self.stdout.write(f"\nWrote {out} and {table} (the README's tables)")

    def _speed(self, quick, results):
        from generation.bench.speed import render_speed

        return render_speed((10.0,) if quick else (10.0, 60.0))

    def _text(self, quick, results):
        from generation.bench.speed import text_to_mp4

        return text_to_mp4(10.0, "480p")

    def _quality(self, quick, results):
        from generation.bench.quality import lipsync_quality

        return lipsync_quality(10.0 if quick else 20.0)

    def _memory(self, quick, results):
        from generation.bench.memory import render_peak_memory

        return render_peak_memory(10.0 if quick else 60.0, "1080p")

    def _expressions(self, quick, results):
        from expressions.engines.mini_xception import benchmark_mini_xception

        return benchmark_mini_xception(n=50)

    def _wav2lip(self, quick, results):
        from generation.bench.neural import wav2lip_ms_per_frame

        bench = wav2lip_ms_per_frame(batch_size=16, batches=3, threads=settings.PAKSA_RENDER_THREADS)
        native = _native_ms_per_frame(results, "720p")
        return {"wav2lip_ms_per_frame": round(bench.ms_per_frame, 1), "batch_size": bench.batch_size,
                "native_ms_per_frame_720p": native,
                "wav2lip_vs_native": round(bench.ms_per_frame / native, 1) if native else None}

    def _background(self, quick, results):
        from generation.bench.speed import background_render_cost
        from generation.pipeline.background.compose import benchmark_background

        bench = benchmark_background(size=(1280, 720), n=30 if quick else 60)
        bench["render_cost"] = background_render_cost("720p", 6.0 if quick else 10.0)
        native = _native_ms_per_frame(results, "720p")
        if native:
            for mode in bench["modes"].values():
                mode["static_vs_native_frame"] = round(mode["static_ms"] / native, 2)
        bench["native_ms_per_frame_720p"] = native
        return bench

    def _load(self, quick, results):
        from generation.bench.load import load_test

        return load_test(clients=50, polls=20, bursts=1 if quick else 5)

    def _frames(self, quick, results):
        from generation.bench.frames import readme_frames

        return readme_frames(settings.BASE_DIR / "docs" / "frames")

    def _fuzz(self, quick, results):
        from generation.bench.fuzz import fuzz_server

        return fuzz_server(max_examples=20 if quick else 200)


def _native_ms_per_frame(results: dict, resolution: str) -> float | None:
    """The native engine's render-stage cost per frame from the speed section of this run."""
    for row in (results.get("speed") or {}).get("rows", []):
        if row["resolution"] == resolution:
            return row.get("native_ms_per_frame")
    return None
