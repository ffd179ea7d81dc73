"""``python manage.py realism_report VIDEO.mp4``: how alive a talking head looks, as JSON.

``--contact-sheet [PATH]`` instead renders the astronaut and writes a contact sheet
(source, open vowel, p/b/m, pause, blink, turn) to PATH (default docs/contact-sheet.png).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from paksatalker_site.errors import USER_ERRORS


class Command(BaseCommand):
    help = "Measure head turn, nod, gaze shifts, mouth-interior corners and face-found rate of a video (JSON)."

    def add_arguments(self, parser):
        parser.add_argument("video", type=Path, nargs="?")
        parser.add_argument("--contact-sheet", nargs="?", const="docs/contact-sheet.png", default=None, metavar="PATH",
                            help="Render the astronaut and write a contact sheet of its frames (default docs/contact-sheet.png).")
        parser.add_argument("--resolution", default="720p", help="Resolution of the contact sheet's render.")

    def handle(self, *args, **options):
        if options["contact_sheet"]:
            from generation.bench.realism import contact_sheet

            out = Path(options["contact_sheet"])
            out = out if out.is_absolute() else Path(settings.BASE_DIR) / out
            written = contact_sheet(out, resolution=options["resolution"])
            written["path"] = str(out.relative_to(settings.BASE_DIR)) if out.is_relative_to(settings.BASE_DIR) else out.name
            self.stdout.write(json.dumps(written, indent=2))
            return
        video: Path | None = options["video"]
        if video is None:
            raise CommandError("give a VIDEO to measure, or --contact-sheet")
        if not video.is_file():
            raise CommandError(f"no such file: {video}")
        from generation.pipeline.measure.realism import realism_report

        try:
            report = realism_report(video)
        except USER_ERRORS as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(json.dumps(report, indent=2))
