from __future__ import annotations

import pickle
import struct

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from generation.pipeline.engines.checkpoints import PathLabels, check_all, is_lfs_pointer, validate_checkpoint

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:4fd2a8c9\nsize 435801865\n"


@pytest.fixture
def safetensors_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"a": np.arange(1000, dtype=np.float32), "b": np.ones((8, 8), np.float32)}, str(path), metadata={"k": "v"})
    return path


@pytest.fixture
def torch_zip(tmp_path):
    path = tmp_path / "model.pth.tar"
    torch.save({"state_dict": {"w": torch.randn(64, 64)}}, path)
    return path


def test_safetensors_valid(safetensors_file):
    check = validate_checkpoint(safetensors_file)
    assert check.ok and check.format == "safetensors" and check.reason == ""


def test_safetensors_truncated(safetensors_file):
    data = safetensors_file.read_bytes()
    safetensors_file.write_bytes(data[:-100])
    check = validate_checkpoint(safetensors_file)
    assert not check.ok and check.reason.startswith("model.safetensors: truncated")
    assert str(safetensors_file.parent) not in check.reason  # users see names, never server paths
    safetensors_file.write_bytes(data[:20])  # cut inside the header
    assert "truncated" in validate_checkpoint(safetensors_file).reason


def test_safetensors_bad_header(tmp_path):
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", 5) + b"{abc}")
    assert "not valid JSON" in validate_checkpoint(path).reason


def test_torch_zip_valid_and_truncated(torch_zip):
    check = validate_checkpoint(torch_zip)
    assert check.ok and check.format == "torch-zip"
    data = torch_zip.read_bytes()
    torch_zip.write_bytes(data[: len(data) // 2])
    check = validate_checkpoint(torch_zip)
    assert not check.ok and "truncated" in check.reason


def test_zip_without_data_pkl(tmp_path):
    import zipfile

    path = tmp_path / "m.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hi")
    assert "without data.pkl" in validate_checkpoint(path).reason


def test_legacy_pickle(tmp_path):
    path = tmp_path / "old.pth"
    torch.save({"w": torch.zeros(3)}, path, _use_new_zipfile_serialization=False)
    check = validate_checkpoint(path)
    assert check.ok and check.format == "pickle"
    path.write_bytes(pickle.dumps({"a": 1}, protocol=2))
    assert validate_checkpoint(path).ok


def test_lfs_pointer_missing_empty_html(tmp_path):
    ptr = tmp_path / "wav2lip.pth"
    ptr.write_text(POINTER)
    check = validate_checkpoint(ptr)
    assert not check.ok and check.format == "lfs-pointer" and "Git LFS pointer" in check.reason
    assert is_lfs_pointer(ptr)
    assert validate_checkpoint(tmp_path / "nope.pth").format == "missing"
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "empty" in validate_checkpoint(tmp_path / "empty.pth").reason
    (tmp_path / "page.pth").write_text("<!DOCTYPE html><html>Not Found</html>")
    assert "HTML" in validate_checkpoint(tmp_path / "page.pth").reason
    (tmp_path / "junk.bin").write_bytes(b"\x00\x01junkjunk")
    assert not validate_checkpoint(tmp_path / "junk.bin").ok


def test_check_all(safetensors_file, torch_zip, tmp_path):
    assert check_all([safetensors_file, torch_zip]) == (True, "")
    ok, reason = check_all([safetensors_file, tmp_path / "missing.pth"])
    assert not ok and "missing.pth: file not found" in reason


def test_reasons_name_files_through_labels(tmp_path):
    models = tmp_path / "project" / "models"
    (models / "wav2lip").mkdir(parents=True)
    (models / "wav2lip" / "wav2lip.pth").write_text(POINTER)
    labels = PathLabels.of({tmp_path / "project": "", models: "models/"})
    reason = validate_checkpoint(models / "wav2lip" / "wav2lip.pth", labels).reason
    assert reason.startswith("models/wav2lip/wav2lip.pth: is a Git LFS pointer")
    ok, reason = check_all([models / "wav2lip" / "missing.pth", tmp_path / "elsewhere.pth"], labels)
    assert not ok and reason == "models/wav2lip/missing.pth: file not found; elsewhere.pth: file not found"


def test_labels_show_and_scrub_paths(tmp_path):
    checkout = tmp_path / "SadTalker"
    labels = PathLabels.of({tmp_path / "project": "", checkout: "PAKSA_SADTALKER_DIR/"})
    assert labels.show(checkout / "inference.py") == "PAKSA_SADTALKER_DIR/inference.py"
    assert labels.show(checkout) == "PAKSA_SADTALKER_DIR"
    assert labels.show(tmp_path / "project" / "data" / "x.wav") == "data/x.wav"
    assert labels.show(tmp_path / "projectile" / "y.wav") == "y.wav"  # a prefix of a name is not a parent folder
    text = (f'File "{checkout}/src/face3d/util.py", line 9: cannot open {tmp_path}/project/models/a.pth; '
            f"see /usr/lib/python3/dist-packages/torch/serialization.py and https://git-lfs.github.com/spec/v1 (3/4)")
    scrubbed = labels.scrub(text)
    assert scrubbed == ('File "PAKSA_SADTALKER_DIR/src/face3d/util.py", line 9: cannot open models/a.pth; '
                        "see serialization.py and https://git-lfs.github.com/spec/v1 (3/4)")
