"""Image input and output: every image enters as float32 RGB (H, W, 3) in [0, 255].

Loading honours the EXIF orientation (phone photos) and accepts greyscale, palette,
transparent (composited on white) and 16-bit files. Saving writes a temporary file in
the destination folder and renames it, so an interrupted run never leaves half an image.
"""

import os
import pathlib
import tempfile

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Extensions Pillow can write that keep an RGB image as it is (no 1-bit or CMYK formats).
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP",
                ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def _to_rgb_array(image):
    """A Pillow image of any common mode -> float32 (H, W, 3) in [0, 255]."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit (or 32-bit integer) greyscale: Pillow's convert("RGB") would clip at 255.
        grey = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or grey.max() > 255 else 255.0
        grey = np.clip(grey / peak * 255.0, 0, 255)
        return np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float64)
        scale = 255.0 if grey.max() <= 1.0 else 1.0
        grey = np.clip(grey * scale, 0, 255)
        return np.repeat(grey[:, :, None], 3, axis=2).astype(np.float32)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.float32)


def load(path, max_size=None):
    """Reads an image file as float32 RGB (H, W, 3) in [0, 255].

    Args:
        path: image file.
        max_size: if given, the image is resized (Lanczos) so that its longest side is
            exactly this many pixels, keeping the aspect ratio.

    Raises:
        ValueError: missing, empty or unreadable file (the message names the file).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty; give an image file")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.load()
            array = _to_rgb_array(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(f"{path}: not an image Pillow can read ({error}); "
                         f"give a PNG, JPEG or other common image file") from None
    return array if max_size is None else resize_longest_side(array, max_size)


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


def to_uint8(image):
    """Float image in [0, 255] -> uint8, rounded (not truncated) and clipped."""
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def check_writable(path, formats=SAVE_FORMATS):
    """Raises ValueError unless `path` has a known extension and a writable folder."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in formats:
        raise ValueError(f"{path}: unknown file type {path.suffix or '(none)'}; use one of "
                         f"{', '.join(sorted(formats))}")
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    if not folder.is_dir():
        raise ValueError(f"{path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{path}: folder {folder} is not writable")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name")


def write_atomically(path, write):
    """Calls `write(file_object)` on a temporary file beside `path`, then renames it.

    The rename is atomic on POSIX and Windows, so `path` holds either its old content
    or the complete new one, never a partial file.
    """
    path = pathlib.Path(path)
    folder = path.parent if str(path.parent) else pathlib.Path(".")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; give usual mode.
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise


def save(image, path):
    """Writes a float RGB (H, W, 3) image in [0, 255] to `path`, atomically."""
    check_writable(path)
    file_format = SAVE_FORMATS[pathlib.Path(path).suffix.lower()]
    options = {"quality": 95} if file_format in ("JPEG", "WEBP") else {}
    picture = Image.fromarray(to_uint8(image))  # uint8 (H, W, 3) is RGB.
    write_atomically(path, lambda f: picture.save(f, format=file_format, **options))


def initial_image(init, content_image, style_image, seed=0):
    """The image the optimisation starts from, at the content image's size.

    Args:
        init: "content" (converges fastest), "noise" (uniform white noise in [0, 255],
            as Gatys et al. 2016 start their syntheses), "style", or an image file.
        content_image: (H, W, 3), fixes the size.
        style_image: (H_s, W_s, 3), resized to (H, W) for init="style".
        seed: seed of the noise.
    """
    height, width = content_image.shape[:2]
    if init == "content":
        return np.array(content_image, dtype=np.float32)
    if init == "noise":
        rng = np.random.default_rng(seed)
        return rng.uniform(0.0, 255.0, (height, width, 3)).astype(np.float32)
    if init == "style":
        return resize(style_image, height, width)
    return resize(load(init), height, width)
