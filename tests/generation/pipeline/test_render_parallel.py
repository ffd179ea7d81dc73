"""The orchestrator's head starts: the phone timeline on another process while the face
is analysed, and the engine most likely to run preparing itself meanwhile."""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest

from generation.pipeline import render
from generation.pipeline.engines.base import Availability, Engine
from generation.pipeline.speech import timeline as speech
from tests.media_factory import PHRASES, espeak_wav


@pytest.fixture(scope="module")
def spanish(tmp_path_factory):
    work = tmp_path_factory.mktemp("parallel")
    return speech.load_audio(espeak_wav(work / "es.wav", PHRASES["es"], voice="es"), work)


def _options() -> dict:
    return {"language": "es", "transcribe_words": False, "timing": None}


def test_phones_found_in_another_process_are_those_found_here(spanish):
    # Audio alone (the phone loop): decoding the same samples is deterministic. The DTW path is
    # not an exact reference: espeak-ng's synthesis varies by a few ms between calls.
    audio_alone = {"language": None, "transcribe_words": False, "timing": None}
    here = speech.phone_timeline(spanish, "", **audio_alone)
    timings: dict[str, float] = {}
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = render._phones_start(pool, timings, spanish, "", **audio_alone)
        assert "phones" not in timings  # still running over there: the caller goes on meanwhile
        there = result()
    assert there.method == here.method == "allphone"
    assert [(p.label, p.start, p.end) for p in there.phones] == [(p.label, p.start, p.end) for p in here.phones]
    assert there.notes == here.notes
    assert timings["phones"] > 0


class _Broken(Executor):
    """An executor whose process has died, either before or after the job was handed over."""

    def __init__(self, *, on_submit: bool):
        self.on_submit = on_submit

    def submit(self, fn, /, *args, **kwargs):
        if self.on_submit:
            raise BrokenProcessPool("A child process terminated abruptly")
        future = Future()
        future.set_exception(BrokenProcessPool("A child process terminated abruptly"))
        return future


@pytest.mark.parametrize("on_submit", [True, False])
def test_a_dead_speech_process_costs_time_not_the_job(spanish, caplog, on_submit):
    timings: dict[str, float] = {}
    with caplog.at_level(logging.WARNING, logger="generation.pipeline.render"):
        timeline = render._phones_start(_Broken(on_submit=on_submit), timings, spanish, PHRASES["es"], **_options())()
    assert timeline.method == "align-dtw" and timeline.phones
    assert "aligning in this process" in caplog.text
    assert timings["phones"] > 0


def test_a_shut_down_executor_aligns_here(spanish):
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    pool.shutdown()
    timeline = render._phones_start(pool, {}, spanish, PHRASES["es"], **_options())()
    assert timeline.method == "align-dtw"


class _Engine(Engine):
    def __init__(self, name: str, available: bool, fails: bool = False):
        self.name, self.available, self.fails, self.prepared = name, available, fails, 0

    def availability(self) -> Availability:
        return Availability(self.available, "" if self.available else "missing")

    def prepare(self) -> None:
        self.prepared += 1
        if self.fails:
            raise RuntimeError("cannot load its kernels")

    def render(self, inp, progress):
        raise AssertionError("not rendered here")


def test_only_the_first_available_engine_prepares_and_its_failure_is_left_to_render():
    missing, first, second = _Engine("sadtalker", False), _Engine("native", True, fails=True), _Engine("still", True)
    render._prepare_first([missing, first, second])
    assert (missing.prepared, first.prepared, second.prepared) == (0, 1, 0)


def test_pipeline_errors_cross_processes_whole():
    import pickle

    from generation.pipeline.errors import InvalidOption, MediaError

    media_error = pickle.loads(pickle.dumps(MediaError("ffmpeg could not read the audio", stderr="moov atom not found")))
    assert (type(media_error), media_error.detail, media_error.stderr) == (MediaError, "ffmpeg could not read the audio",
                                                                          "moov atom not found")
    option = pickle.loads(pickle.dumps(InvalidOption("unknown language", extra={"valid": ["en", "es"]})))
    assert (option.detail, option.extra, str(option)) == ("unknown language", {"valid": ["en", "es"]}, "unknown language")
