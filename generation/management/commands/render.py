"""Render talking-head videos without a server: one, or a batch from a manifest.

The schemas and the render services load in ``handle``: ``render --help`` needs
neither (pydantic, numpy and the pipeline cost ~0.3 s to import).
"""

from __future__ import annotations

import csv
import gc
import importlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from django.core import checks
from django.core.management.base import BaseCommand, CommandError

from generation.fields import FIELD_HELP
from paksatalker_site.errors import USER_ERRORS

FULL_COLLECTION_THRESHOLD = 100  # CPython's default is 10 (gen-1 collections per full one)

# Every generation field of the API, as a kebab-case flag (API name -> flag).
API_FIELDS = {
    "text": "--text", "transcript": "--transcript", "voice": "--voice", "resolution": "--resolution", "fps": "--fps",
    "emotion": "--emotion", "style": "--style", "expressionEngine": "--expression-engine",
    "preferWav2Lip2": "--prefer-wav2lip2", "preprocess": "--preprocess", "backgroundMode": "--background-mode",
    "backgroundColor": "--background-color", "chromaColor": "--chroma-color", "similarity": "--similarity",
    "blend": "--blend", "captions": "--captions", "language": "--language",
}
FILE_FIELDS = {"image": "--image", "audio": "--audio", "backgroundImage": "--background-image"}
METAVARS = {"image": "PATH", "audio": "PATH", "backgroundImage": "PATH", "text": "TEXT", "transcript": "TEXT", "voice": "VOICE_ID",
            "language": "TAG", "fps": "N", "preferWav2Lip2": "BOOL"}


class Command(BaseCommand):
    help = "Render a talking-head MP4 from an image and audio or text, or many from a CSV/JSONL manifest."
    # The model checks only: the URL checks import the whole web API (~0.6 s) that rendering never uses.
    requires_system_checks = [checks.Tags.models]

    def run_from_argv(self, argv):
        # Only when the command is its own process (never under call_command): freezing the
        # start-up heap keeps the render's collections from re-scanning it, and freezing at the
        # end spares the exit-time collections over the numba/matplotlib/mediapipe objects (~0.7 s).
        # Full collections come 10x rarer: the render's imports trigger three, each re-scanning
        # those modules' objects (0.1-0.15 s in all); the young generations still collect every cycle.
        gc.freeze()
        first, second, _ = gc.get_threshold()
        gc.set_threshold(first, second, FULL_COLLECTION_THRESHOLD)
        try:
            super().run_from_argv(argv)
        except KeyboardInterrupt:
            # The render's own clean-up (ffmpeg, work files) ran on the way out, and a video is only
            # renamed into place once whole. The exit skips the interpreter's teardown: Ctrl-C can land
            # inside the speech executor's locks (joining it would hang) or while MediaPipe's C++ code
            # is building its graph on the preload thread (its teardown aborts).
            for child in multiprocessing.active_children():
                child.terminate()
            self.stderr.write("Interrupted: the video in progress was not written.")
            self.stderr.flush()
            sys.stdout.flush()
            os._exit(130)
        finally:
            gc.freeze()

    def add_arguments(self, parser):
        for name, flag in {**FILE_FIELDS, **API_FIELDS}.items():
            parser.add_argument(flag, dest=name, default=None, metavar=METAVARS.get(name, "VALUE"), help=FIELD_HELP[name])
        parser.add_argument("--out", help="output MP4 path")
        parser.add_argument("--batch", help="manifest .csv or .jsonl: one video per row, columns named like the flags")
        parser.add_argument("--force", action="store_true", help="re-render rows whose output exists")

    def handle(self, *args, **opts):
        if not opts["batch"] and not opts["out"]:
            raise CommandError("--out is required (or use --batch).")
        with _speech_process() as self._speech_executor:
            if opts["batch"]:
                return self._batch(Path(opts["batch"]), force=opts["force"])
            self._render_single(opts)

    def _render_single(self, opts: dict) -> None:
        row = {name: opts[name] for name in {**FILE_FIELDS, **API_FIELDS} if opts[name] is not None}
        try:
            result = self._render_one(row, Path(opts["out"]), show_progress=True)
        except (*USER_ERRORS, CommandError) as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from None
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {opts['out']}: {result.duration:.2f} s, {result.width}x{result.height} @ {result.fps} fps, engine {result.engine}"
        ))
        for skipped in result.fallback_reasons:
            self.stdout.write(f"  skipped {skipped.engine}: {skipped.reason}")
        if result.lip_sync:
            lip_sync = result.lip_sync
            language = f", language {lip_sync['language']} ({lip_sync['language_source']})" if lip_sync.get("language") else ""
            self.stdout.write(f"  lip sync: {lip_sync['method']}{language}")
            for note in lip_sync.get("notes", []):
                self.stdout.write(f"    {note}")
        for note in (*result.notes, result.captions_note):
            if note:
                self.stdout.write(f"  note: {note}")

    def _render_one(self, row: dict, out: Path, *, show_progress: bool):
        from pydantic import ValidationError

        from generation.schemas import FusionIn
        from generation.services.direct import render_direct

        files = {}
        for name in FILE_FIELDS:
            if row.get(name):
                path = Path(row[name]).expanduser()
                if not path.is_file():
                    raise CommandError(f"{FILE_FIELDS[name]}: no file at {path}")
                files[name] = path
        fields = {k: v for k, v in row.items() if k in API_FIELDS and v not in (None, "")}
        if "preferWav2Lip2" in fields:
            fields["preferWav2Lip2"] = str(fields["preferWav2Lip2"]).lower() in ("1", "true", "yes")
        try:
            form = FusionIn(**fields)
        except ValidationError as exc:  # one line per field, named as the API names it
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or 'options'}: {err['msg']}" for err in exc.errors())
            raise CommandError(f"invalid options: {problems}") from None
        progress = _TerminalProgress(self.stdout) if show_progress else None
        return render_direct(form=form, files=files, out=out, progress=progress, speech_executor=self._speech_executor)

    def _batch(self, manifest: Path, *, force: bool) -> None:
        rows = _read_manifest(manifest)
        summary = []
        for index, row in enumerate(rows, start=1):
            out = Path(row.get("out") or "")
            if not row.get("out"):
                summary.append((index, "-", "failed", "", "row has no 'out' column"))
                continue
            if out.exists() and not force:
                summary.append((index, str(out), "skipped", "", "output exists"))
                continue
            started = time.perf_counter()
            try:
                result = self._render_one(row, out, show_progress=False)
                summary.append((index, str(out), "ok", result.engine, f"{time.perf_counter() - started:.1f} s"))
            except (*USER_ERRORS, CommandError) as exc:
                summary.append((index, str(out), "failed", "", str(getattr(exc, "detail", exc))))
            self.stdout.write(f"[{index}/{len(rows)}] {summary[-1][2]}: {summary[-1][1]}")
        self._print_summary(summary)
        if any(row[2] == "failed" for row in summary):
            raise CommandError(f"{sum(r[2] == 'failed' for r in summary)} of {len(rows)} rows failed")

    def _print_summary(self, summary) -> None:
        headers = ("#", "output", "result", "engine", "detail")
        widths = [max(len(str(r[i])) for r in [headers, *summary]) for i in range(5)]
        line = "  ".join(f"{{:<{w}}}" for w in widths)
        self.stdout.write(line.format(*headers))
        for row in summary:
            self.stdout.write(line.format(*map(str, row)))
        counts = {k: sum(r[2] == k for r in summary) for k in ("ok", "skipped", "failed")}
        self.stdout.write(f"{counts['ok']} rendered, {counts['skipped']} skipped, {counts['failed']} failed")


@contextmanager
def _speech_process():
    """The process that finds the phone timelines of this command's renders (RenderHooks.speech_executor).

    It starts now and imports the speech modules while this process is still
    loading its own; "spawn" because forking a process with threads can deadlock.
    """
    from generation.pipeline.process import exit_with_parent

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                               initializer=exit_with_parent, initargs=(os.getpid(),))
    try:
        for module in ("generation.pipeline.speech.timeline", "pocketsphinx"):
            pool.submit(importlib.import_module, module)
        yield pool
    except KeyboardInterrupt:
        raise  # no orderly shutdown (see run_from_argv); the worker ends when this process does
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True, cancel_futures=True)


def _read_manifest(path: Path) -> list[dict]:
    if not path.is_file():
        raise CommandError(f"no manifest at {path}")
    base = path.parent
    if path.suffix not in (".csv", ".jsonl"):
        raise CommandError("the manifest must be .csv or .jsonl")
    try:
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            rows = [_json_row(path.name, number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        else:
            with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets write a BOM
                rows = list(csv.DictReader(handle))
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    # Column names may be the API's (backgroundMode) or the flags' (background-mode).
    by_flag = {flag.lstrip("-"): name for name, flag in {**FILE_FIELDS, **API_FIELDS}.items()}
    known = {*FILE_FIELDS, *API_FIELDS, "out"}
    normalised = []
    for number, row in enumerate(rows, start=1):
        if None in row:  # csv.DictReader's key for values past the header's columns
            raise CommandError(f"{path.name} row {number}: more values than the header has columns")
        unknown = sorted({by_flag.get(k, k) for k in row} - known)
        if unknown:  # a misspelt column would otherwise render with that option left at its default
            raise CommandError(f"{path.name} row {number}: unknown column {', '.join(map(repr, unknown))}; "
                               f"columns are named like the flags (background-mode or backgroundMode), plus out")
        clean = {by_flag.get(k, k): v for k, v in row.items() if v not in (None, "")}
        for key in ("image", "audio", "backgroundImage", "out"):
            if key in clean and not isinstance(clean[key], str):
                raise CommandError(f"{path.name} row {number}: {key} must be a path")
            if clean.get(key) and not Path(clean[key]).is_absolute():
                clean[key] = str(base / clean[key])
        normalised.append(clean)
    return normalised


class _TerminalProgress:
    """A one-line progress bar on a terminal; plain lines when piped."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = sys.stdout.isatty()
        self.last = ""

    def __call__(self, percent: float, stage: str) -> None:
        width = 30
        filled = int(width * percent / 100)
        text = f"[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}% {stage}"
        if self.tty:
            columns = shutil.get_terminal_size().columns - 1
            self.stream.write("\r" + text[:columns].ljust(columns), ending="")
            self.stream.flush()
        elif stage != self.last:
            self.stream.write(text)
        self.last = stage


def _json_row(name: str, number: int, line: str) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{name} line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise CommandError(f"{name} line {number}: each line must be a JSON object of columns")
    return row
