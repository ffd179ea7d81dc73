"""Test stand-in for a SadTalker checkout's ``inference.py`` (test scaffolding only).

Takes SadTalker's argument list and follows its output rules: the video goes to
``<result_dir>/<YYYY_MM_DD_HH.MM.SS>.mp4``, the path is printed as
``The generated video is named: <path>``, and tqdm-style bars with the real
prefixes go to stderr. ``FAKE_SADTALKER_MODE`` picks the behaviour:
success | noface | hang | fail | broken | fail_full (fails only with full/extfull).
``FAKE_SADTALKER_NO_NAME=1`` leaves out the "named" line; ``FAKE_SADTALKER_CROP=x0,y0,x1,y1``
makes crop modes cut that box of the photo (else the whole photo is squeezed square). Every run records its
argv in ``<result_dir>/argv.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import wave


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--driven_audio", default="./examples/driven_audio/bus_chinese.wav")
    p.add_argument("--source_image", default="./examples/source_image/full_body_1.png")
    p.add_argument("--ref_eyeblink", default=None)
    p.add_argument("--ref_pose", default=None)
    p.add_argument("--checkpoint_dir", default="./checkpoints")
    p.add_argument("--result_dir", default="./results")
    p.add_argument("--pose_style", type=int, default=0)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--expression_scale", type=float, default=1.0)
    p.add_argument("--input_yaw", nargs="+", type=int, default=None)
    p.add_argument("--input_pitch", nargs="+", type=int, default=None)
    p.add_argument("--input_roll", nargs="+", type=int, default=None)
    p.add_argument("--enhancer", type=str, default=None)
    p.add_argument("--background_enhancer", type=str, default=None)
    p.add_argument("--cpu", dest="cpu", action="store_true")
    p.add_argument("--face3dvis", action="store_true")
    p.add_argument("--still", action="store_true")
    p.add_argument("--preprocess", default="crop", choices=["crop", "extcrop", "resize", "full", "extfull"])
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--old_version", action="store_true")
    return p.parse_args()


def bar(prefix: str, steps: int = 5, delay: float = 0.01) -> None:
    for i in range(steps + 1):
        pct = int(100 * i / steps)
        sys.stderr.write(f"\r{prefix}:{pct:4d}%|{'#' * (pct // 10):10s}| {i}/{steps} [00:00<00:00, 9.99it/s]")
        sys.stderr.flush()
        time.sleep(delay)
    sys.stderr.write("\n")
    sys.stderr.flush()


def audio_seconds(path: str) -> float:
    with wave.open(path, "rb") as w:
        return w.getnframes() / float(w.getframerate())


def main() -> int:
    args = parse()
    mode = os.environ.get("FAKE_SADTALKER_MODE", "success")
    if mode == "fail_full":
        mode = "fail" if args.preprocess in ("full", "extfull") else "success"
    os.makedirs(args.result_dir, exist_ok=True)
    with open(os.path.join(args.result_dir, "argv.json"), "w") as fh:
        json.dump(sys.argv[1:], fh)
    stamp = time.strftime("%Y_%m_%d_%H.%M.%S")
    save_dir = os.path.join(args.result_dir, stamp)
    os.makedirs(save_dir, exist_ok=True)
    print("using safetensor as default")
    if mode == "noface":
        bar("landmark Det", 2)
        print("No face is detected in the input file")
        return 0
    bar("landmark Det")
    bar("3DMM Extraction In Video")
    if mode == "hang":
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(os.path.join(args.result_dir, "child.pid"), "w") as fh:
            fh.write(str(child.pid))
        time.sleep(600)
        return 0
    if mode == "fail":
        sys.stderr.write("Traceback (most recent call last):\nRuntimeError: stand-in failure\n")
        return 1
    bar("mel")
    bar("audio2exp")
    bar("Face Renderer", 10)
    if args.preprocess in ("full", "extfull"):
        bar("seamlessClone")
    if args.enhancer:
        bar("Face Enhancer")
    out = save_dir + ".mp4"
    if mode == "broken":
        with open(out, "w") as fh:
            fh.write("not a video")
    else:
        scale = f"scale={args.size}:{args.size}" if args.preprocess not in ("full", "extfull") else "scale=trunc(iw/2)*2:trunc(ih/2)*2"
        box = os.environ.get("FAKE_SADTALKER_CROP")
        if box and args.preprocess in ("crop", "extcrop"):  # SadTalker's crop: a box around the face, resized square
            x0, y0, x1, y1 = (int(v) for v in box.split(","))
            scale = f"crop={x1 - x0}:{y1 - y0}:{x0}:{y0}," + scale
        subprocess.run(
            ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-loop", "1", "-framerate", "25",
             "-i", args.source_image, "-i", args.driven_audio, "-vf", scale + ",format=yuv420p",
             "-t", f"{audio_seconds(args.driven_audio):.3f}", "-c:v", "libx264", "-preset", "ultrafast",
             "-c:a", "aac", "-shortest", out],
            check=True,
        )
    if os.environ.get("FAKE_SADTALKER_NO_NAME") != "1":
        print(f"The generated video is named: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
