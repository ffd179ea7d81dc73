import zipfile

from expressions.model_files import (
    REPO_ROOT,
    basic_file_reason,
    display_path,
    hdf5_reason,
    is_lfs_pointer,
    models_dir,
    zip_reason,
)
from tests.expressions.onnx_builders import write_lfs_pointer


def test_models_dir_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("PAKSA_MODELS_DIR", str(tmp_path))
    assert models_dir() == tmp_path
    assert models_dir(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv("PAKSA_MODELS_DIR")
    assert models_dir().name == "models"


def test_pointer_missing_empty(tmp_path):
    pointer = write_lfs_pointer(tmp_path / "m.onnx")
    assert is_lfs_pointer(pointer)
    assert "Git LFS pointer" in basic_file_reason(pointer)
    assert "missing" in basic_file_reason(tmp_path / "absent.bin")
    (tmp_path / "empty.bin").write_bytes(b"")
    assert "empty" in basic_file_reason(tmp_path / "empty.bin")


def test_hdf5_rejects_wrong_format_and_truncation(tmp_path):
    import h5py
    import numpy as np

    good = tmp_path / "good.h5"
    with h5py.File(good, "w") as fh:
        fh.attrs["model_config"] = "{}"
        fh.create_dataset("model_weights/x", data=np.zeros(4096))
    assert hdf5_reason(good) == ""
    assert "SHA-256" in hdf5_reason(good, expected_sha256="0" * 64)
    (tmp_path / "png.h5").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 4096)
    assert "not an HDF5" in hdf5_reason(tmp_path / "png.h5")
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[:2048])
    assert hdf5_reason(cut) != ""


def test_zip_members_and_damage(tmp_path):
    bundle = tmp_path / "b.task"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("a.tflite", b"x" * 100)
    assert zip_reason(bundle, ["a.tflite"]) == ""
    assert "lacks b.tflite" in zip_reason(bundle, ["a.tflite", "b.tflite"])
    cut = tmp_path / "cut.task"
    cut.write_bytes(bundle.read_bytes()[:60])
    assert "not a zip archive" in zip_reason(cut, ["a.tflite"])


def test_display_path_is_never_absolute(monkeypatch, tmp_path):
    assert display_path(REPO_ROOT / "models" / "mini_xception" / "emotion_model.hdf5") == "models/mini_xception/emotion_model.hdf5"
    monkeypatch.setenv("PAKSA_MODELS_DIR", str(tmp_path / "weights"))
    assert display_path(tmp_path / "weights" / "openseeface") == "PAKSA_MODELS_DIR/openseeface"
    assert display_path(tmp_path / "elsewhere" / "model.onnx") == "model.onnx"
    assert str(tmp_path) not in basic_file_reason(tmp_path / "weights" / "absent.bin")
