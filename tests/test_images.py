"""Image loading (orientation, modes, bit depths), hostile files, arrays, saving."""

import io
import struct
import warnings
import zlib

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


def png_header(width, height):
    """The first bytes of a PNG that says it is width x height (8-bit RGB), with a cut
    IDAT: a decompression bomb's header, which must be refused before decoding."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)[:40]))


def valid_png(rng, mode="RGB"):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)).convert(mode).save(
        buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("case, problem", [
    ("missing", "no such file"), ("empty", "the file is empty"),
    ("text", "not an image Pillow can read"), ("truncated", "not an image Pillow can read"),
    ("bomb", "20000x20000 is 400,000,000 pixels, more than the 125,000,000")])
def test_bad_files_are_one_error_naming_the_file(tmp_path, rng, monkeypatch, case, problem):
    monkeypatch.setattr(images, "available_bytes", lambda: 8_000_000_000)  # 125 MP at 64 B.
    path = tmp_path / "in.png"
    content = {"missing": None, "empty": b"", "text": b"this is not a picture",
               "truncated": valid_png(rng)[:200], "bomb": png_header(20000, 20000)}[case]
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        images.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message


def test_the_pixel_limit_comes_from_the_memory_available(monkeypatch):
    monkeypatch.setattr(images, "available_bytes", lambda: 64_000_000)
    assert images.max_decode_pixels() == 1_000_000
    monkeypatch.setattr(images, "available_bytes", lambda: None)
    assert images.max_decode_pixels() == 1 << 30


def test_modes_we_cannot_use_are_refused_and_others_converted(tmp_path, rng):
    Image.fromarray(np.full((4, 5), -7, np.int32), "I").save(tmp_path / "negative.tif")
    nan = np.full((4, 5), 0.5, np.float32)
    nan[1, 1] = np.nan
    Image.fromarray(nan, "F").save(tmp_path / "nan.tif")
    for name, problem in (("negative.tif", "32-bit integer image with values from -7"),
                          ("nan.tif", "NaN or infinite values")):
        with pytest.raises(ValueError, match=f"{tmp_path / name}: .*{problem}"):
            images.load(tmp_path / name)
    Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).convert("CMYK").save(
        tmp_path / "cmyk.jpg")
    with pytest.warns(images.ImageWarning, match="cmyk.jpg: CMYK converted to RGB"):
        assert images.load(tmp_path / "cmyk.jpg").shape == (8, 8, 3)


def test_pillows_warnings_become_ours_naming_the_file(tmp_path, rng, monkeypatch):
    (tmp_path / "photo.png").write_bytes(valid_png(rng))
    original = Image.Image.load

    def load_with_a_warning(image):  # What Pillow does with, e.g., corrupt EXIF data.
        warnings.warn("Corrupt EXIF data.  Expecting to read 12 bytes but only got 2.",
                      UserWarning)
        return original(image)

    monkeypatch.setattr(Image.Image, "load", load_with_a_warning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images.load(tmp_path / "photo.png")
    assert [w.category for w in caught] == [images.ImageWarning]
    assert str(caught[0].message) == f"{tmp_path / 'photo.png'}: Corrupt EXIF data.  " \
                                     f"Expecting to read 12 bytes but only got 2."


def test_warnings_survive_decoding_threads(tmp_path, rng, monkeypatch):
    """Folders decode in tf.data's threads while the main thread warns: no warning may
    vanish into another thread's capture (`warnings.catch_warnings` is process-wide)."""
    import threading
    import time

    (tmp_path / "photo.png").write_bytes(valid_png(rng))
    original = Image.Image.load

    def slow_load_with_a_warning(image):
        warnings.warn("Corrupt EXIF data.", UserWarning)
        time.sleep(0.002)  # Holds the capture open, as a real decode does.
        return original(image)

    monkeypatch.setattr(Image.Image, "load", slow_load_with_a_warning)
    stop = threading.Event()

    def decode_until_stopped():
        while not stop.is_set():
            images.load(tmp_path / "photo.png")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [threading.Thread(target=decode_until_stopped) for _ in range(3)]
        for thread in threads:
            thread.start()
        for k in range(100):
            images.warn(f"main {k}")
            time.sleep(0.0005)
        stop.set()
        for thread in threads:
            thread.join()
    assert sorted(str(w.message) for w in caught if str(w.message).startswith("main")) == \
        sorted(f"main {k}" for k in range(100))


def test_arrays_and_pil_images_are_images_too(rng):
    pixels = rng.integers(0, 255, (4, 5, 3), dtype=np.uint8)
    for source in (pixels, pixels / 255.0, Image.fromarray(pixels), pixels.astype(float)):
        np.testing.assert_allclose(images.as_image(source, "content"), pixels, atol=1e-4)
    assert images.as_image(pixels[:, :, 0], "mask").shape == (4, 5, 3)
    for bad, problem in ((np.zeros((4, 5, 2)), "shape"), ("", "no such file"),
                         (np.full((2, 2), np.nan), "NaN"), (np.full((2, 2), 300.0), "values")):
        with pytest.raises(ValueError, match=problem):
            images.as_image(bad, "content")


def test_save_round_trip_and_leaves_no_temporary_files(tmp_path, rng):
    image = rng.uniform(0, 255, (6, 5, 3)).astype(np.float32)
    images.save(image, tmp_path / "out.png")
    np.testing.assert_array_equal(images.load(tmp_path / "out.png"), np.round(image))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize("name, problem", [
    ("out.xyz", "unknown file type .xyz"), ("a_file/out.png", "a_file is a file, not a folder")])
def test_unwritable_outputs_are_refused(tmp_path, name, problem):
    (tmp_path / "a_file").write_text("in the way")
    with pytest.raises(ValueError, match=problem):
        images.check_writable(tmp_path / name)


def test_an_outputs_missing_folders_are_made_when_it_is_written(tmp_path, rng):
    path = tmp_path / "new" / "deeper" / "out.png"
    images.check_writable(path)
    assert not (tmp_path / "new").exists()  # Checking writes nothing.
    images.save(rng.uniform(0, 255, (4, 5, 3)), path)
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]


def test_initial_images(rng):
    content = rng.uniform(0, 255, (8, 10, 3)).astype(np.float32)
    style = rng.uniform(0, 255, (16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(images.initial_image("content", content, style), content)
    noise = images.initial_image("noise", content, style, seed=1)
    assert noise.shape == (8, 10, 3) and 0 <= noise.min() and noise.max() <= 255
    np.testing.assert_array_equal(noise, images.initial_image("noise", content, style, 1))
    assert noise.std() > 60  # Uniform white noise on [0, 255] has std 73.6.
    assert images.initial_image("style", content, style).shape == (8, 10, 3)
