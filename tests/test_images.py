"""Image loading (orientation, modes, bit depths), resizing, atomic saving, errors."""

import numpy as np
import pytest
from PIL import Image

from style_transfer import images


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :10] = 255  # Left half white.
    picture = Image.fromarray(pixels)
    exif = picture.getexif()
    exif[0x0112] = 6  # Orientation: the camera was turned; display rotated 90° clockwise.
    path = tmp_path / "phone.jpg"
    picture.save(path, exif=exif, quality=100)
    loaded = images.load(path)
    assert loaded.shape == (20, 10, 3)
    assert loaded[:5].mean() > 200 and loaded[-5:].mean() < 50  # The left half is now on top.


def test_greyscale_and_palette_become_rgb(tmp_path):
    grey = (np.arange(35).reshape(5, 7) * 7).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "grey.png")
    loaded = images.load(tmp_path / "grey.png")
    assert loaded.shape == (5, 7, 3) and loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded[:, :, 1], grey)

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[:2] = (200, 10, 30)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    np.testing.assert_array_equal(images.load(tmp_path / "p.png"), rgb)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((3, 3, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[0, 0, 3] = 0  # Fully transparent pixel.
    rgba[1, 1, 3] = 255  # Opaque.
    rgba[2, 2, 3] = 128  # Half.
    Image.fromarray(rgba).save(tmp_path / "a.png")
    loaded = images.load(tmp_path / "a.png")
    np.testing.assert_array_equal(loaded[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(loaded[1, 1], [200, 0, 0])
    np.testing.assert_allclose(loaded[2, 2], [227.5, 127.5, 127.5], atol=1.0)


def test_sixteen_bit_greyscale_keeps_its_range(tmp_path):
    deep = np.array([[0, 32768, 65535]], np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    loaded = images.load(tmp_path / "deep.png")
    np.testing.assert_allclose(loaded[0, :, 0], [0.0, 127.5, 255.0], atol=0.01)


def test_size_is_the_longest_side(tmp_path, rng):
    Image.fromarray(rng.integers(0, 255, (30, 60, 3), dtype=np.uint8)).save(tmp_path / "w.png")
    assert images.load(tmp_path / "w.png", max_size=40).shape == (20, 40, 3)
    assert images.load(tmp_path / "w.png", max_size=120).shape == (60, 120, 3)


@pytest.mark.parametrize("content, problem", [
    (None, "no such file"), (b"", "the file is empty"),
    (b"this is not a picture", "not an image Pillow can read")])
def test_bad_files_are_named(tmp_path, content, problem):
    path = tmp_path / "in.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path}: {problem}"):
        images.load(path)


def test_save_round_trip_and_leaves_no_temporary_files(tmp_path, rng):
    image = rng.uniform(0, 255, (6, 5, 3)).astype(np.float32)
    images.save(image, tmp_path / "out.png")
    np.testing.assert_array_equal(images.load(tmp_path / "out.png"), np.round(image))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.png"
    path.write_bytes(b"old")

    def broken(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        images.write_atomically(path, broken)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("name, problem", [
    ("out.xyz", "unknown file type .xyz"), ("missing/out.png", "does not exist")])
def test_unwritable_outputs_are_refused(tmp_path, name, problem):
    with pytest.raises(ValueError, match=problem):
        images.check_writable(tmp_path / name)


def test_initial_images(rng):
    content = rng.uniform(0, 255, (8, 10, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(images.initial_image("content", content, style), content)
    noise = images.initial_image("noise", content, style, seed=1)
    assert noise.shape == (8, 10, 3) and 0 <= noise.min() and noise.max() <= 255
    np.testing.assert_array_equal(noise, images.initial_image("noise", content, style, 1))
    assert noise.std() > 60  # Uniform white noise on [0, 255] has std 73.6.
    assert images.initial_image("style", content, style).shape == (8, 10, 3)
