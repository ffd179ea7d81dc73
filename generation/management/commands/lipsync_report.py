"""``python manage.py lipsync_report VIDEO.mp4 [--text "..."]``: lip-sync measurements as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from generation.pipeline.measure.lipsync import lipsync_report
from paksatalker_site.errors import USER_ERRORS


class Command(BaseCommand):
    help = ("Measure the lip sync of a talking-head video (mouth vs audio, closure and false-closure rates, "
            "blinks, head motion) and print JSON.")

    def add_arguments(self, parser):
        parser.add_argument("video", type=Path)
        parser.add_argument("--text", default="", help="What is said: phone alignment, and the closure figures "
                                                         "against espeak-ng's phone times.")
        parser.add_argument("--language", default=None, help="BCP-47 language of --text (detected when absent).")

    def handle(self, *args, **options):
        video: Path = options["video"]
        if not video.is_file():
            raise CommandError(f"no such file: {video}")
        try:
            report = lipsync_report(video, options["text"], language=options["language"])
        except USER_ERRORS as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(json.dumps(report, indent=2))
