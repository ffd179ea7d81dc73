"""`manage.py render`: single renders, clear failures, and batches from a manifest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generation.pipeline import media

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _render(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {"PAKSA_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(data_dir)}
    return subprocess.run([sys.executable, "manage.py", "render", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_single_render_from_text_with_flags(tmp_path, astronaut_path):
    out = tmp_path / "hello.mp4"
    result = _render("--image", str(astronaut_path), "--text", "Hello there.", "--resolution", "480p", "--fps", "20",
                     "--preprocess", "crop", "--background-mode", "color", "--background-color", "#00ff00",
                     "--expression-engine", "none", "--out", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "engine native" in result.stdout
    info = media.probe(out)
    assert (info.width, info.height) == (480, 480) and abs(info.fps - 20) < 0.01 and info.has_audio


def test_failure_exits_non_zero_with_a_clear_message(tmp_path, astronaut_path):
    result = _render("--image", str(astronaut_path), "--text", "Hi.", "--voice", "xx-XX-NobodyNeural", "--out", str(tmp_path / "x.mp4"), data_dir=tmp_path)
    assert result.returncode != 0
    assert "xx-XX-NobodyNeural" in result.stderr and "Traceback" not in result.stderr
    missing = _render("--image", str(tmp_path / "nope.png"), "--text", "Hi.", "--out", str(tmp_path / "y.mp4"), data_dir=tmp_path)
    assert missing.returncode != 0 and "no file" in missing.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_batch_renders_rows_skips_existing_and_summarises(tmp_path, astronaut_path, short_speech_wav):
    (tmp_path / "done.mp4").write_bytes(b"already rendered")
    rows = [
        {"image": str(astronaut_path), "audio": str(short_speech_wav), "resolution": "480p", "out": "a.mp4"},
        {"image": str(astronaut_path), "text": "Second video.", "resolution": "480p", "expression-engine": "none", "out": "b.mp4"},
        {"image": str(astronaut_path), "text": "Skipped.", "out": "done.mp4"},
        {"image": str(astronaut_path), "text": "Bad fps.", "fps": "500", "out": "c.mp4"},
    ]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("\n".join(json.dumps(row) for row in rows))
    result = _render("--batch", str(manifest), data_dir=tmp_path)
    assert result.returncode != 0  # one row failed
    assert "2 rendered, 1 skipped, 1 failed" in result.stdout
    assert media.probe(tmp_path / "a.mp4").has_audio and media.probe(tmp_path / "b.mp4").has_audio
    assert (tmp_path / "done.mp4").read_bytes() == b"already rendered"
    assert not (tmp_path / "c.mp4").exists()


def test_audio_alone_is_decoded_in_the_speech_process(tmp_path, astronaut_path, short_speech_wav):
    out = tmp_path / "alone.mp4"
    result = _render("--image", str(astronaut_path), "--audio", str(short_speech_wav), "--resolution", "480p", "--fps", "15",
                     "--expression-engine", "none", "--out", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    # The phone loop ran in the command's speech process; its notes come back with the timeline.
    assert "lip sync: allphone" in result.stdout
    assert "bilabial closures found in the signal" in result.stdout
    assert media.probe(out).has_audio


def _interrupted_render(tmp_path, astronaut_path, short_speech_wav, sig) -> tuple[subprocess.Popen, str, list[int]]:
    """A render sent ``sig`` once it is aligning speech (its speech process is up): (process, stderr, child pids)."""
    out = tmp_path / "stopped.mp4"
    env = {"PAKSA_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path),
           "PYTHONUNBUFFERED": "1"}  # progress lines as they happen, not at exit
    proc = subprocess.Popen([sys.executable, "manage.py", "render", "--image", str(astronaut_path), "--audio", str(short_speech_wav),
                             "--out", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    for line in proc.stdout:
        if "Aligning speech" in line:
            children = [int(pid) for pid in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()]
            proc.send_signal(sig)
            break
    _, stderr = proc.communicate(timeout=120)
    return proc, stderr, children


def _gone(pids: list[int], within_s: float = 10.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_ctrl_c_stops_cleanly_without_a_traceback_a_partial_video_or_a_stray_process(tmp_path, astronaut_path, short_speech_wav):
    import signal

    proc, stderr, children = _interrupted_render(tmp_path, astronaut_path, short_speech_wav, signal.SIGINT)
    assert proc.returncode == 130, stderr
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "stopped.mp4").exists() and not list(tmp_path.glob(".stopped.mp4.part"))
    assert children and _gone(children)  # the speech process (and ffmpeg) end with the command


def test_a_killed_command_leaves_no_speech_process_behind(tmp_path, astronaut_path, short_speech_wav):
    import signal

    proc, _, children = _interrupted_render(tmp_path, astronaut_path, short_speech_wav, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert children and _gone(children)


def test_batch_from_csv(tmp_path, astronaut_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"image,text,resolution,out\n{astronaut_path},Hello from a CSV.,480p,csv.mp4\n")
    result = _render("--batch", str(manifest), data_dir=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rendered, 0 skipped, 0 failed" in result.stdout
    assert media.probe(tmp_path / "csv.mp4").duration > 0.5


@pytest.mark.bench
def test_help_answers_in_under_a_second(tmp_path):
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = _render("--help", data_dir=tmp_path)
        timings.append(time.perf_counter() - started)
        assert result.returncode == 0 and "--batch" in result.stdout
    assert min(timings) < 1.0, timings


def test_help_describes_every_generation_flag(tmp_path):
    from generation.fields import FIELD_HELP
    from generation.management.commands.render import API_FIELDS, FILE_FIELDS

    result = _render("--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())  # argparse wraps to the terminal's width
    for name, flag in {**FILE_FIELDS, **API_FIELDS}.items():
        described = re.search(re.escape(flag) + r" [A-Z_]+ (.+?) --", text)
        assert described and described.group(1) == " ".join(FIELD_HELP[name].split()), flag


@pytest.mark.bench
def test_whole_render_process_runs_at_three_times_real_time():
    from generation.bench.speed import render_command_speed

    result = render_command_speed(9.0, "480p", runs=2)
    assert result["x_realtime"] >= 3.0, result["summary"]


def test_language_flag_times_the_lips_in_that_language(tmp_path, astronaut_path):
    from tests.media_factory import PHRASES, espeak_wav

    german = espeak_wav(tmp_path / "de.wav", PHRASES["de"], voice="de")
    out = tmp_path / "de.mp4"
    result = _render("--image", str(astronaut_path), "--audio", str(german), "--transcript", PHRASES["de"], "--language", "de",
                     "--resolution", "480p", "--fps", "15", "--expression-engine", "none", "--out", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "lip sync: align-dtw, language de (given)" in result.stdout
    assert media.probe(out).has_audio


def test_batch_with_a_misspelt_column_renders_nothing(tmp_path, astronaut_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"image,text,emotoin,out\n{astronaut_path},Hello.,happy,a.mp4\n")
    result = _render("--batch", str(manifest), data_dir=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "jobs.csv row 1: unknown column 'emotoin'" in result.stderr
    assert not (tmp_path / "a.mp4").exists()


@pytest.mark.parametrize("name,content,message", [
    ("a.jsonl", '{"text": "Hi", "out": "a.mp4"}\n{"text": "Hi", "out": "b.mp4", "backgroundmode": "blur"}\n',
     "a.jsonl row 2: unknown column 'backgroundmode'"),
    ("b.jsonl", '{"text": "Hi", "out": "a.mp4"}\n{"text": "Hi",\n', "b.jsonl line 2: not valid JSON"),
    ("c.jsonl", '["Hi", "a.mp4"]\n', "c.jsonl line 1: each line must be a JSON object"),
    ("d.jsonl", '{"text": "Hi", "image": 5, "out": "a.mp4"}\n', "d.jsonl row 1: image must be a path"),
    ("e.csv", "text,out\nHi,a.mp4,extra\n", "e.csv row 1: more values than the header has columns"),
])
def test_manifest_mistakes_are_named_before_anything_renders(tmp_path, name, content, message):
    from django.core.management import CommandError

    from generation.management.commands.render import _read_manifest

    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CommandError, match=re.escape(message)):
        _read_manifest(path)


def test_manifest_columns_may_be_flags_or_api_names_and_a_spreadsheets_bom_is_read(tmp_path):
    from django.core.management import CommandError

    from generation.management.commands.render import _read_manifest

    path = tmp_path / "jobs.csv"
    path.write_bytes("\ufeffimage,background-mode,emotion,out\nface.png,blur,sad,x.mp4\n".encode("utf-8"))
    (row,) = _read_manifest(path)
    assert row == {"image": str(tmp_path / "face.png"), "backgroundMode": "blur", "emotion": "sad", "out": str(tmp_path / "x.mp4")}
    path.write_bytes(b"text,out\nCaf\xe9,x.mp4\n")  # Latin-1
    with pytest.raises(CommandError, match="jobs.csv is not UTF-8 text"):
        _read_manifest(path)


def test_batch_rows_take_a_language_column(tmp_path, astronaut_path, short_speech_wav):
    rows = [{"image": str(astronaut_path), "audio": str(short_speech_wav), "transcript": "Hello world.", "language": "Klingon!",
             "out": "bad.mp4"}]
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("\n".join(json.dumps(row) for row in rows))
    result = _render("--batch", str(manifest), data_dir=tmp_path)
    assert result.returncode != 0
    assert "language: Value error, 'Klingon!' is not a BCP-47 language tag" in result.stdout
    assert not (tmp_path / "bad.mp4").exists()


def test_only_the_command_process_freezes_its_heap(tmp_path):
    """run_from_argv (its own process) freezes the heap for a quick exit; call_command (tests, code) never does."""
    import gc

    from django.core.management import CommandError, call_command

    before = gc.get_freeze_count()
    with pytest.raises(CommandError, match="--out is required"):
        call_command("render")
    assert gc.get_freeze_count() == before
    script = ("import gc, os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'paksatalker_site.settings'); django.setup()\n"
              "from generation.management.commands.render import Command\n"
              "try:\n    Command().run_from_argv(['manage.py', 'render', '--help'])\nexcept SystemExit:\n    pass\n"
              "print('frozen', gc.get_freeze_count())")
    env = {"PAKSA_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.rsplit("frozen", 1)[1]) > 10_000
