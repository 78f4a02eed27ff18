"""Masks and colour-coded maps, at the image's size and at every feature layer's size.

A mask is an image: white = 1 (the region), black = 0, grey values are soft weights.
A colour-coded map gives every pixel a label by its colour; each distinct colour is a
region. Maps drawn by hand or saved as JPEG have blended edges and noise, so colours are
matched within a tolerance (Euclidean distance in RGB, 0-255 units) to the map's
dominant colours, and pixels near none of them belong to no region.

At a feature layer a mask is the image mask averaged over each 2x2 block once per
pooling before that layer, as the network pools its activations: a value is the share of
the region in the pixels that a feature position summarises, so a region keeps its
meaning at every depth (Gatys et al. 2017, arXiv:1611.07865, Sec. 4, who also
downsample the guidance channels to each layer; Champandard 2016 likewise).
"""

import dataclasses
import pathlib

import numpy as np
import scipy.ndimage

from style_transfer import color, images, vgg
from style_transfer.parameters import ArgumentError

# A colour is a region when at least this share of the map's pixels has it exactly;
# rarer colours are the blends of anti-aliased edges or JPEG noise.
MIN_REGION_SHARE = 0.002
DEFAULT_TOLERANCE = 40.0  # RGB distance; JPEG noise in flat areas stays well below it.


def load_mask(source, height, width, name="mask"):
    """A mask as (height, width) float32 weights in [0, 1] (white = 1).

    Args:
        source: an image file, a PIL image, or an array: (H, W) or (H, W, 3), uint8 or
            float (floats in [0, 1] are weights as they are; see `images.as_image`).
            Any colour image works: its luminance is the weight.
        height, width: the size to resize it to.
        name: the argument it came from, for errors.

    Raises:
        ValueError: the file is unreadable, or the mask is all black.
    """
    luminance = color.rgb_to_yiq(images.as_image(source, name))[:, :, :1]
    mask = np.clip(images.resize(luminance, height, width)[:, :, 0] / 255.0, 0.0, 1.0)
    if mask.max() < 1 / 255:
        raise ValueError(f"{images.describe(source, name)}: the mask is all black, so it "
                         f"selects no pixels; paint the region white")
    return mask.astype(np.float32)


def feather(mask, radius):
    """Softens a mask's border: Gaussian blur with σ = radius / 2, so the seam fades over
    about `radius` pixels on each side (0 keeps it as it is)."""
    if radius <= 0:
        return np.asarray(mask, np.float32)
    return scipy.ndimage.gaussian_filter(np.asarray(mask, np.float64), sigma=radius / 2,
                                         mode="nearest").astype(np.float32)


def composite(foreground_image, background_image, mask):
    """m · foreground + (1 - m) · background, per pixel: (H, W, 3)."""
    weights = np.asarray(mask, np.float32)[:, :, None]
    return weights * foreground_image + (1.0 - weights) * background_image


def downsample(mask):
    """One 2x2 average pooling of a (H, W) mask, as the network's (odd sizes floored)."""
    height, width = mask.shape[0] // 2, mask.shape[1] // 2
    return mask[:2 * height, :2 * width].reshape(height, 2, width, 2).mean(axis=(1, 3))


def layer_masks(mask, layers):
    """The mask at each layer's feature size: layer -> (H_l, W_l) float32.

    Args:
        mask: (H, W) weights at the image's size.
        layers: paper layer names.
    """
    result = {}
    for layer in layers:
        level = np.asarray(mask, np.float64)
        for _ in range(vgg.pooling_depth(layer)):
            level = downsample(level)
        result[vgg.canonical_layer_name(layer)] = level.astype(np.float32)
    return result


def coverage_line(region_masks, names):
    """'regions: a.jpg 40%, b.jpg 35%; 25% in no region keeps only the content'."""
    shares = [f"{pathlib.Path(name).name} {np.mean(mask):.0%}"
              for name, mask in zip(names, region_masks)]
    uncovered = np.mean(np.max(np.stack(region_masks), axis=0) == 0)
    return (f"regions: {', '.join(shares)}; {uncovered:.0%} in no region keeps only the "
            f"content")


@dataclasses.dataclass(frozen=True)
class LabelMap:
    """A colour-coded map read into regions.

    Attributes:
        palette: the regions' colours, [(r, g, b), ...] (ints), most common first.
        labels: (H, W) int array: index into `palette`, or -1 for pixels near no colour.
    """
    palette: list
    labels: np.ndarray

    def mask(self, index):
        """(H, W) float32 binary mask of region `index`."""
        return (self.labels == index).astype(np.float32)

    def index_of(self, rgb, tolerance):
        """Index of the palette colour within `tolerance` of `rgb`, or None."""
        distances = [np.linalg.norm(np.subtract(rgb, c)) for c in self.palette]
        best = int(np.argmin(distances))
        return best if distances[best] <= tolerance else None


def hex_colour(rgb):
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def palette_text(label_map, indices=None):
    """'#000000 40%, #ffffff 35%': the map's colours (or some of them) and their shares."""
    indices = range(len(label_map.palette)) if indices is None else indices
    return ", ".join(f"{hex_colour(label_map.palette[i])} {np.mean(label_map.labels == i):.0%}"
                     for i in indices)


def read_label_map(source, height, width, tolerance=DEFAULT_TOLERANCE, name="map"):
    """Reads a colour-coded map at (height, width) (nearest-neighbour, so no new colours).

    The palette is read from the map at its own size, so it does not depend on the size
    asked for (a small size samples few pixels, and a blend could pass for a region).

    Args:
        source: an image file, a PIL image or an (H, W, 3) array (`images.as_image`).
        height, width: the size to read it at.
        tolerance: RGB distance within which a pixel has a region's colour.
        name: the argument it came from, for errors.

    Raises:
        ValueError: the file is unreadable, or no colour covers enough pixels.
    """
    original = images.as_image(source, name)
    codes = np.round(original).astype(np.int64) @ np.array([1 << 16, 1 << 8, 1])
    unique_codes, counts = np.unique(codes, return_counts=True)
    colours = np.stack([unique_codes >> 16, (unique_codes >> 8) & 255, unique_codes & 255], -1)
    # A region's colour covers a share of the map exactly (blends and noise are spread
    # over many rare values); of several such colours within the tolerance of each
    # other (JPEG shifts a flat colour by a few units), the most common one stands.
    palette = []
    for index in np.argsort(-counts, kind="stable"):
        if counts[index] < MIN_REGION_SHARE * codes.size:
            break
        if all(np.linalg.norm(colours[index] - np.array(c)) > tolerance for c in palette):
            palette.append(tuple(int(v) for v in colours[index]))
    if not palette:
        raise ValueError(f"{images.describe(source, name)}: no colour covers "
                         f"{MIN_REGION_SHARE:.1%} of the map; paint regions with flat colours")
    pixels = np.round(images.resize(original, height, width, nearest=True))
    flat = pixels.reshape(-1, 3).astype(np.int64)
    distances = np.linalg.norm(flat[:, None, :] - np.array(palette)[None], axis=2)
    labels = np.argmin(distances, axis=1)
    labels[distances[np.arange(len(flat)), labels] > tolerance] = -1
    return LabelMap(palette, labels.reshape(height, width))


@dataclasses.dataclass(frozen=True)
class RegionPairs:
    """The regions of an output map and a style map, paired by colour.

    Attributes:
        output_map: `LabelMap` at the output's size (the content map, or the doodle).
        style_map: `LabelMap` at the style image's size.
        pairs: [(output index, style index)], one per colour found in both maps.
        output_only, style_only: colours [(r, g, b)] found in one map only.
    """
    output_map: LabelMap
    style_map: LabelMap
    pairs: list
    output_only: list
    style_only: list

    def mask_pairs(self):
        """[(output mask (H, W), style mask (H_s, W_s))], one per pair, float32 binary."""
        return [(self.output_map.mask(c), self.style_map.mask(s)) for c, s in self.pairs]

    def summary(self):
        """The paired colours and those in one map only, as hex, for run reports."""
        return {"regions": [hex_colour(self.output_map.palette[c]) for c, _ in self.pairs],
                "content_only": [hex_colour(c) for c in self.output_only],
                "style_only": [hex_colour(c) for c in self.style_only]}

    def describe(self):
        """'regions: #000000 40%, #ffffff 35%; only in the content map: #00ff00'."""
        text = f"regions: {palette_text(self.output_map, [c for c, _ in self.pairs])}"
        for where, colours in (("content", self.output_only), ("style", self.style_only)):
            if colours:
                text += f"; only in the {where} map: {', '.join(map(hex_colour, colours))}"
        return text


def pair_regions(output_source, style_source, output_shape, style_shape, *,
                 tolerance=DEFAULT_TOLERANCE, names=("content_map", "style_map"),
                 require_all=False):
    """Reads two colour-coded maps at the output's and the style's sizes, and pairs their
    regions by colour: region k of the output takes the style of region k.

    Args:
        output_source, style_source: the maps (files, PIL images or arrays).
        output_shape, style_shape: (H, W, ...) of the output and of the style image.
        tolerance: RGB distance within which colours match.
        names: the two arguments that gave the maps, for errors.
        require_all: refuse also when an output colour is missing from the style map
            (for methods where every output region needs its style, as a doodle's).

    Returns:
        `RegionPairs`.

    Raises:
        ValueError: a map is unreadable, no colour is in both maps, or (`require_all`)
            some output colours are not in the style map: the message names them.
    """
    output_map = read_label_map(output_source, *output_shape[:2], tolerance, names[0])
    style_map = read_label_map(style_source, *style_shape[:2], tolerance, names[1])
    pairs, output_only, style_only = match_regions(output_map, style_map, tolerance)
    if require_all and output_only:
        missing = [output_map.palette.index(rgb) for rgb in output_only]
        raise ArgumentError(
            names[0], f"has colours that {names[1]} lacks: "
            f"{palette_text(output_map, missing)} (the style map has "
            f"{palette_text(style_map)}); repaint them in the style map's colours or "
            f"raise map_tolerance")
    if not pairs:
        raise ArgumentError(
            names[0], f"shares no colour with {names[1]} (content: "
            f"{palette_text(output_map)}; style: {palette_text(style_map)}); paint "
            f"matching regions in the same colour")
    return RegionPairs(output_map, style_map, pairs, output_only, style_only)


def match_regions(content_map, style_map, tolerance=DEFAULT_TOLERANCE):
    """Pairs the regions of two maps by colour.

    Returns:
        (pairs, content_only, style_only): pairs is [(content index, style index)];
        the others list the colours found in one map only.
    """
    pairs, content_only = [], []
    for index, rgb in enumerate(content_map.palette):
        match = style_map.index_of(rgb, tolerance)
        if match is None:
            content_only.append(rgb)
        else:
            pairs.append((index, match))
    matched_style = {s for _, s in pairs}
    style_only = [rgb for i, rgb in enumerate(style_map.palette) if i not in matched_style]
    return pairs, content_only, style_only
