"""Image input and output: every image enters as float32 RGB (H, W, 3) in [0, 255].

Loading honours the EXIF orientation (phone photos) and accepts greyscale, palette,
transparent (composited on white), 16-bit, CMYK and floating-point files; anything it
cannot use is refused with one message that names the file and says what to do: a
missing, empty, truncated or non-image file, an image too large to decode in the memory
available (checked from its header, before decoding), a 32-bit image outside 0..65535, a
float image with NaN. What Pillow only warns about becomes an `ImageWarning` naming the
file. Saving goes through `files.write_atomically`, so an interrupted run never leaves
half an image.
"""

import collections
import concurrent.futures
import contextlib
import os
import pathlib
import threading
import warnings

import numpy as np
from PIL import Image, ImageOps

from style_transfer import files
from style_transfer.parameters import ArgumentError

# Extensions Pillow can write that keep an RGB image as it is (no 1-bit or CMYK formats).
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
                ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}
# Peak memory of `load` per pixel of the file: Pillow's decoded image (4 bytes), our float32
# RGB copy (12), a float64 copy on the greyscale paths (24) and the resize's per-channel
# float32 planes (12); measured 41 bytes on a 64-megapixel PNG (README). The limit
# allows 64, so a file is decoded only when it fits in what the system has available.
DECODE_BYTES_PER_PIXEL = 64
# `warnings.catch_warnings` swaps process-wide state, so it is not thread-safe (Python's
# warnings documentation): decoding threads (tf.data's) take turns capturing Pillow's
# warnings, and `warn` takes the same lock, so no thread's warning is lost in another's
# capture.
_WARNINGS_LOCK = threading.RLock()


class ImageError(ValueError):
    """An input image refused: the message names it and says what to do."""


class ImageWarning(UserWarning):
    """Something worth saying about an input image that still loads (the message names
    the file): a CMYK image converted without its colour profile, corrupt metadata."""


def available_bytes():
    """Memory the system can still give (Linux MemAvailable), or None where unknown."""
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def max_decode_pixels():
    """The largest image (in pixels) `load` decodes: what the memory available now holds
    at `DECODE_BYTES_PER_PIXEL`; where memory is unknown, 1 gigapixel."""
    available = available_bytes()
    return (1 << 30) if available is None else available // DECODE_BYTES_PER_PIXEL


@contextlib.contextmanager
def _our_pixel_limit():
    """Pillow's own decompression-bomb limit off while we open a file: ours, derived
    from memory, is checked from the header instead (Pillow's is a fixed 89 megapixels)."""
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = previous


def _grey_to_rgb(grey):
    return np.repeat(np.asarray(grey, np.float32)[:, :, None], 3, axis=2)


def _to_rgb_array(image, where):
    """A Pillow image of any mode we handle -> float32 (H, W, 3) in [0, 255].

    Raises:
        ValueError: a mode or values we cannot turn into a picture (message: `where`).
    """
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: Pillow's convert("RGB") would clip at 255.
        grey = np.asarray(image, dtype=np.float64)
        if grey.min() < 0 or grey.max() > 65535:
            raise ImageError(f"{where}: a 32-bit integer image with values from "
                             f"{grey.min():.0f} to {grey.max():.0f}; save it as an 8- or "
                             f"16-bit image")
        peak = 65535.0 if image.mode.startswith("I;16") or grey.max() > 255 else 255.0
        return _grey_to_rgb(grey / peak * 255.0)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float64)
        if not np.isfinite(grey).all():
            raise ImageError(f"{where}: a floating-point image with NaN or infinite "
                             f"values; save it without them")
        scale = 255.0 if grey.max() <= 1.0 else 1.0
        return _grey_to_rgb(np.clip(grey * scale, 0, 255))
    if image.mode == "CMYK":
        warnings.warn(ImageWarning(f"{where}: CMYK converted to RGB without a colour "
                                   f"profile, so colours are approximate; save it as RGB"))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    try:
        return np.asarray(image.convert("RGB"), dtype=np.float32)
    except ValueError:
        raise ImageError(f"{where}: images of mode {image.mode} are not supported; save it "
                         f"as RGB") from None


def load(path, max_size=None, max_pixels=None):
    """Reads an image file as float32 RGB (H, W, 3) in [0, 255].

    Args:
        path: image file.
        max_size: if given, the image is resized (Lanczos) so that its longest side is
            exactly this many pixels, keeping the aspect ratio.
        max_pixels: refuse larger images (read from the header, before decoding), below
            what the memory available can decode (a server's own limit).

    Raises:
        ValueError: a missing, empty, truncated, unreadable or too large file, or one
            whose mode or values are not a picture (the message names the file). What
            Pillow only warns about is re-issued as an `ImageWarning` naming the file.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty; give an image file")
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with _our_pixel_limit(), Image.open(path) as image:
                pixels, limit = image.width * image.height, max_decode_pixels()
                reason = "that the memory available can decode"
                if max_pixels is not None and max_pixels < limit:
                    limit, reason = max_pixels, "allowed"
                if pixels > limit:
                    raise ImageError(
                        f"{path}: {image.width}x{image.height} is {pixels:,} pixels, more "
                        f"than the {limit:,} {reason}; give a smaller image")
                image = ImageOps.exif_transpose(image)
                image.load()
                array = _to_rgb_array(image, path)
        except ImageError:
            raise
        except Exception as error:  # Pillow raises many types for a bad file.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ImageError(f"{path}: not an image Pillow can read ({reason}); give a PNG, "
                             f"JPEG or other common image file") from None
    messages = [str(w.message) if issubclass(w.category, ImageWarning)
                else f"{path}: {str(w.message).splitlines()[0]}" for w in caught]
    for message in dict.fromkeys(messages):  # Once each: Pillow repeats itself.
        warn(message)
    return array if max_size is None else resize_longest_side(array, max_size)


def warn(message):
    """Issues an `ImageWarning`, from any thread, without losing it to a decoding
    thread's capture (see `_WARNINGS_LOCK`)."""
    with _WARNINGS_LOCK:
        warnings.warn(ImageWarning(message), stacklevel=2)


def in_order_ahead(function, items, ahead, threads=4):
    """function(item) for each of `items`, yielded in order, computed by `threads`
    threads up to `ahead` items in advance (Pillow's decoders release the GIL): how the
    training crops and a folder's images are decoded while the network runs."""
    items, ahead = list(items), max(1, ahead)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        queue = collections.deque(pool.submit(function, item) for item in items[:ahead])
        for index in range(len(items)):
            result = queue.popleft().result()
            if index + ahead < len(items):
                queue.append(pool.submit(function, items[index + ahead]))
            yield result


def describe(source, name):
    """How errors name an input: its path, or the argument for arrays and PIL images."""
    return str(source) if isinstance(source, (str, os.PathLike)) else name


def as_image(source, name="image"):
    """Any image a user may hand the library, as float32 RGB (H, W, 3) in [0, 255].

    Args:
        source: a path (`load`), a PIL image, or an array (or tensor): (H, W) greyscale,
            (H, W, 3) RGB or (H, W, 4) RGBA (composited on white); uint8 and uint16 by
            their ranges, floats in [0, 255], or in [0, 1] when none is above 1.
        name: the argument it came from, for errors.

    Raises:
        ArgumentError: not an image, or values outside the range (names `name`).
        ValueError: an unreadable file (names the file).
    """
    if isinstance(source, (str, os.PathLike)):
        return load(source)
    if isinstance(source, Image.Image):
        return _to_rgb_array(source, name)
    try:
        array = np.asarray(source)
    except Exception:  # An object NumPy cannot turn into an array.
        array = np.asarray(None)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or (
            array.dtype.kind not in "biuf") or min(array.shape[:2], default=0) < 1:
        raise ArgumentError(name, "give an image file, a PIL image or an array of shape "
                                  "(H, W), (H, W, 3) or (H, W, 4)")
    if array.dtype.kind == "b":
        array = array * 255.0
    elif array.dtype == np.uint16:
        array = array / 65535.0 * 255.0
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ArgumentError(name, "the array has NaN or infinite values")
        if array.max() <= 1.0:
            array = array * 255.0
    array = np.asarray(array, np.float64)
    if array.min() < 0 or array.max() > 255:
        raise ArgumentError(name, f"values from {array.min():g} to {array.max():g}; give "
                                  f"an image in [0, 255] (or [0, 1])")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 4:  # Composite on white, as `load` does for files.
        alpha = array[:, :, 3:] / 255.0
        array = array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    return array.astype(np.float32)


def resize(image, height, width, nearest=False):
    """Resizes a float (H, W, C) image with Lanczos filtering (no clipping to 8 bits).

    `nearest=True` uses nearest-neighbour instead, which invents no new values: for
    colour-coded maps, whose colours are labels.
    """
    if image.shape[:2] == (height, width):
        return np.array(image, dtype=np.float32)
    resample = Image.Resampling.NEAREST if nearest else Image.Resampling.LANCZOS
    channels = [Image.fromarray(np.ascontiguousarray(image[:, :, c], np.float32))
                .resize((width, height), resample)
                for c in range(image.shape[2])]
    return np.clip(np.stack([np.asarray(c) for c in channels], axis=2), 0, 255)


def scaled_shape(height, width, longest_side):
    """(height, width) scaled so that the longer side is `longest_side` (at least 1 px)."""
    scale = longest_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_longest_side(image, longest_side):
    """Resizes (H, W, 3) so its longest side is `longest_side`, keeping the aspect ratio."""
    return resize(image, *scaled_shape(*image.shape[:2], longest_side))


# The file names a folder of images is read for (training photos, frames to stylise).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def image_files(folder):
    """The files of `folder` whose names end in one of `IMAGE_SUFFIXES`, in no order."""
    return [p for p in pathlib.Path(folder).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]


def to_uint8(image):
    """Float image in [0, 255] -> uint8, rounded (not truncated) and clipped."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def check_writable(path, formats=SAVE_FORMATS):
    """Raises ValueError unless `path` has a known extension and a writable folder."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in formats:
        raise ValueError(f"{path}: unknown file type {path.suffix or '(none)'}; use one of "
                         f"{', '.join(sorted(formats))}")
    try:
        if path.is_dir():
            raise ValueError("is a folder; give a file name")
        files.check_folder_writable(path.parent)
        files.check_name_length(path)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def save(image, path):
    """Writes a float RGB (H, W, 3) image in [0, 255] to `path`, atomically."""
    check_writable(path)
    file_format = SAVE_FORMATS[pathlib.Path(path).suffix.lower()]
    options = {"quality": 95} if file_format in ("JPEG", "WEBP") else {}
    picture = Image.fromarray(to_uint8(image))  # uint8 (H, W, 3) is RGB.
    files.write_atomically(path, lambda f: picture.save(f, format=file_format, **options))


INITS = ("content", "noise", "style")


def initial_image(init, content_image, style_image, seed=0):
    """The image the optimisation starts from, at the content image's size.

    Args:
        init: "content" (converges fastest), "noise" (uniform white noise in [0, 255],
            as Gatys et al. 2016 start their syntheses), "style", or an image (file,
            PIL image or array: `as_image`).
        content_image: (H, W, 3), fixes the size.
        style_image: (H_s, W_s, 3), resized to (H, W) for init="style".
        seed: seed of the noise.
    """
    height, width = content_image.shape[:2]
    if isinstance(init, str) and init == "content":
        return np.array(content_image, dtype=np.float32)
    if isinstance(init, str) and init == "noise":
        rng = np.random.default_rng(seed)
        return rng.uniform(0.0, 255.0, (height, width, 3)).astype(np.float32)
    if isinstance(init, str) and init == "style":
        return resize(style_image, height, width)
    return resize(as_image(init, "init"), height, width)
