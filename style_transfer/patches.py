"""Semantic style transfer by patches: region sub-images, and MRF patch matching.

Both take colour-coded maps of the output and of the style image, paired by colour
(`masks.RegionPairs`), and send the style of style region k to output region k. Each
kind of target has a `loss(features, image, style_layer_weights)` method that
`losses.Objective.terms` sums over, like `losses.StyleTarget`.

Gram patches. Each region's bounding box is cut out of the style image and of the
output as a sub-image; features and Gram matrices are computed on the sub-image alone, so
no work is spent on the rest of the image, and the two sub-images need not have the same
size. Inside the box the Gram matrix is that of the region's own pixels
(`losses.gram_matrix` with the region's mask), and the term is `losses.style_loss` (or
another statistic of `style_losses`, the technique's `style_loss`).
The work per evaluation is one VGG19 pass over each output sub-image, so output regions
whose boxes overlap so much that one pass over the box round them costs fewer pixels
share that pass (`sub_image_groups`); each keeps its own mask and Gram matrices. A
sub-image that is the whole output reads the one pass the content term needs anyway.

MRF patches: C. Li & M. Wand, "Combining Markov Random Fields and Convolutional Neural
Networks for Image Synthesis", CVPR 2016 (arXiv:1601.04589), with the semantic channels
of A. J. Champandard, "Semantic Style Transfer and Turning Two-Bit Doodles into Fine
Artworks", 2016 (arXiv:1603.01768), Sec. 3. At a layer l (relu3_1, relu4_1) every k x k
patch Ψ_i(Φ(x)) of the output's features is pulled towards the style patch that matches
it best, Ψ_NN(i)(Φ(s)) (Li & Wand, Eq. 2); the matches are found again at every
evaluation and are constants for the gradient. The maps, down-sampled to the layer as
the network pools (one channel per region, M), take part in the matching only.

The two reference implementations sample, match and normalise differently, and each
technique reproduces its own (`MRFRecipe`):

- CNNMRF (chuanli11/CNNMRF, mylib/mrf.lua; patch_style): patches on a grid of step d on
  both images, with the last row and column added where the step skips them, so every
  position is covered. NN(i) maximises the normalised cross-correlation of whole patches
  (Li & Wand, Eq. 3) of the features with the map channels appended, ω r_l M (r_l: the
  style features' root-mean-square vector norm, so ω means the same at every layer; the
  channels are ours, CNNMRF has no maps). The energy is the one whose gradient CNNMRF's
  module returns: each position's pull divided by the number c_p of patches that cover it,

      E^l = ½ Σ_i Σ_{p ∈ patch i} |Φ_p(x) - Ψ_NN(i)(Φ(s))_p|² / c_p.

- neural-doodle (alexjc/neural-doodle, doodle.py; doodle_2_art): every patch (step 1). At
  each position both sides' features and map channels are normalised to unit length, so
  NN(i) maximises Σ_{q ∈ patch} (cos(Φ_q(x), Φ_q(s)) + ω cos(M_q(x), M_q(s))): the map
  counts ω times as much as the features (neural-doodle divides the features by 3 and
  the map by sqrt(9/ω)). The energy is the mean over patches, positions and channels,

      E^l = mean_i,p,c (Φ_p,c(x) - Ψ_NN(i)(Φ(s))_p,c)².

Matching is a product of the output's patch vectors with the style's, in chunks of style
patches, so the score matrix never exceeds `MAX_SCORE_BYTES` however large the images.
"""

import dataclasses

import numpy as np
from keras import ops

from style_transfer import backend, losses, masks, vgg

MRF_LAYERS = ("relu3_1", "relu4_1")  # Li & Wand 2016 (CNNMRF's code: layers 12 and 21).
PATCH_SIZE = 3  # k: 3x3 patches of activations (Li & Wand 2016; both reference codes).
MATCHINGS = ("patch", "position")
REDUCTIONS = ("overlap", "mean")
# The largest score matrix (output patches x style patches, float32) built at once.
MAX_SCORE_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class MRFRecipe:
    """How MRF patches are sampled, matched and penalised (module docstring).

    Attributes:
        size: k, the patch size in feature positions.
        stride: d, the grid step on both images.
        semantic_weight: ω, the weight of the map channels in matching.
        matching: "patch" (CNNMRF: normalised cross-correlation of whole patches) or
            "position" (neural-doodle: cosines per position, summed).
        reduction: "overlap" (CNNMRF: ½ Σ, each position divided by its patch count) or
            "mean" (neural-doodle).
    """
    size: int = PATCH_SIZE
    stride: int = 2
    semantic_weight: float = 1.0
    matching: str = "patch"
    reduction: str = "overlap"


def grid(length, size, stride):
    """Start positions of patches along one axis: 0, d, 2d, ... and the last one,
    length - size, where the step skips it (CNNMRF's `computegrid` with flag_all)."""
    starts = list(range(0, length - size + 1, stride))
    if starts[-1] != length - size:
        starts.append(length - size)
    return np.array(starts)


def extract_patches(features, rows, columns, size):
    """The size x size patches starting at rows x columns: (h, w, size * size * C), each
    flattened in (row, column, channel) order.

    Args:
        features: (H, W, C).
        rows, columns: start positions (`grid`).
    """
    offsets = np.arange(size)
    row_index = (rows[:, None] + offsets[None]).ravel()  # (h k)
    column_index = (columns[:, None] + offsets[None]).ravel()  # (w k)
    picked = ops.take(ops.take(features, row_index, axis=0), column_index, axis=1)
    channels = features.shape[-1]
    picked = ops.reshape(picked, (len(rows), size, len(columns), size, channels))
    return ops.reshape(ops.transpose(picked, (0, 2, 1, 3, 4)),
                       (len(rows), len(columns), size * size * channels))


def unit_positions(features, scale=1.0):
    """Each position's channel vector divided by its length, times `scale` (zero vectors
    stay zero): neural-doodle's normalisation before matching."""
    norm = ops.sqrt(ops.sum(ops.square(features), axis=-1, keepdims=True))
    return scale * features / ops.maximum(norm, 1e-12)


def semantic_channels(label_map, indices, layer):
    """The regions `indices` of a map as one channel each, at `layer`'s size: (H_l, W_l, K)."""
    layer = vgg.canonical_layer_name(layer)
    return np.stack([masks.layer_masks(label_map.mask(i), [layer])[layer] for i in indices],
                    axis=-1)


def overlap_weights(height, width, rows, columns, size):
    """1 / c_p at each element of each patch: (h, w, size², 1), c_p the number of the
    grid's patches covering position p (CNNMRF's gradTO_confident)."""
    counts = np.zeros((height, width))
    for r in rows:
        for c in columns:
            counts[r:r + size, c:c + size] += 1
    picked = counts[(rows[:, None] + np.arange(size))[:, None, :, None],
                    (columns[:, None] + np.arange(size))[None, :, None, :]]  # (h, w, k, k)
    return (1.0 / picked).reshape(len(rows), len(columns), size * size, 1)


@dataclasses.dataclass(frozen=True)
class MRFLayer:
    """The style patches of one layer, ready for matching, and how to read the output.

    Attributes:
        filters: (num_chunks, chunk, D) the style's matching vectors (`MRFRecipe`), in
            chunks; the last chunk is filled up with copies of patch 0 (a copy can win
            only where patch 0 scores as high, up to rounding; its target is the same).
        patches: (num_chunks * chunk, k² C): Ψ_j(Φ(s)), features only, the targets of
            the loss, in the same order (copies included).
        output_semantics: (H_l, W_l, K) the output's map channels, as matching uses them.
        rows, columns: the output's patch grid.
        element_weights: (h, w, k², 1) 1 / c_p for the "overlap" reduction, else None.
        recipe: `MRFRecipe`.
    """
    filters: np.ndarray
    patches: np.ndarray
    output_semantics: np.ndarray
    rows: np.ndarray
    columns: np.ndarray
    element_weights: np.ndarray | None
    recipe: MRFRecipe


def _matching_input(features, semantics, recipe):
    """The features and map channels as the recipe matches them, (H, W, C + K)."""
    if recipe.matching == "position":
        features = unit_positions(features)
    return ops.concatenate([features, ops.cast(semantics, features.dtype)], axis=-1)


def mrf_layer(style_features, style_semantics, output_semantics, recipe):
    """Prepares one layer's style patches (`MRFLayer`) from numpy arrays.

    Args:
        style_features: (H_s, W_s, C) Φ(s).
        style_semantics: (H_s, W_s, K) the style map's region channels M at this layer.
        output_semantics: (H_l, W_l, K) the output map's, in the same region order.
        recipe: `MRFRecipe`.
    """
    style_features = np.asarray(style_features)  # float32, or float64 in gradient tests.
    dtype, size, stride = style_features.dtype, recipe.size, recipe.stride
    if recipe.matching == "patch":
        scale = recipe.semantic_weight * np.sqrt(np.mean(np.sum(np.square(style_features),
                                                                axis=-1)))
        style_semantics, output_semantics = (scale * style_semantics,
                                             scale * output_semantics)
    else:
        scale = np.sqrt(recipe.semantic_weight)
        style_semantics = np.asarray(unit_positions(style_semantics, scale))
        output_semantics = np.asarray(unit_positions(output_semantics, scale))
    style_rows = grid(style_features.shape[0], size, stride)
    style_columns = grid(style_features.shape[1], size, stride)
    guided = np.asarray(_matching_input(style_features, style_semantics.astype(dtype), recipe))
    filters = np.array(extract_patches(guided, style_rows, style_columns, size))
    filters = filters.reshape(-1, filters.shape[-1])
    if recipe.matching == "patch":  # Normalised cross-correlation: unit style patches.
        filters /= np.maximum(np.linalg.norm(filters, axis=1, keepdims=True), 1e-12)
    patches = np.asarray(extract_patches(style_features, style_rows, style_columns, size))
    patches = patches.reshape(len(filters), -1)

    height, width = output_semantics.shape[:2]
    rows, columns = grid(height, size, stride), grid(width, size, stride)
    score_bytes = len(rows) * len(columns) * filters.dtype.itemsize  # One style patch.
    chunk = int(min(len(filters), max(1, MAX_SCORE_BYTES // score_bytes)))
    num_chunks = -(-len(filters) // chunk)
    fill = np.zeros(num_chunks * chunk - len(filters), np.int64)  # Copies of patch 0.
    filters, patches = np.concatenate([filters, filters[fill]]), np.concatenate(
        [patches, patches[fill]])
    weights = (overlap_weights(height, width, rows, columns, size).astype(dtype)
               if recipe.reduction == "overlap" else None)
    return MRFLayer(np.ascontiguousarray(filters.reshape(num_chunks, chunk, -1)), patches,
                    output_semantics.astype(dtype), rows, columns, weights, recipe)


def nearest_patches(vectors, filters):
    """NN(i): the best style patch for every output patch (Li & Wand 2016, Eq. 3).

    Args:
        vectors: (n, D) the output's matching vectors.
        filters: (num_chunks, chunk, D) the style's (`MRFLayer.filters`).

    Returns:
        (n,) int32 indices into the style patches (chunk-major order).
    """
    vectors = ops.stop_gradient(vectors)
    filters = ops.convert_to_tensor(filters, vectors.dtype)
    chunk, count = filters.shape[1], vectors.shape[0]

    def best_in_chunk(index, best):
        best_score, best_patch = best
        scores = ops.matmul(vectors, ops.transpose(filters[index]))  # (n, chunk)
        score = ops.max(scores, axis=-1)
        patch = ops.cast(ops.argmax(scores, axis=-1), "int32") + index * chunk
        better = score > best_score
        return ops.where(better, score, best_score), ops.where(better, patch, best_patch)

    # One chunk at a time: running them side by side would hold several score matrices.
    _, best_patch = backend.serial_loop(
        filters.shape[0], best_in_chunk,
        (ops.full((count,), -np.inf, dtype=vectors.dtype), ops.zeros((count,), dtype="int32")))
    return best_patch


def mrf_loss(features, layer_target):
    """E_mrf^l at one layer (module docstring; Li & Wand 2016, Eq. 2), in the layer
    target's recipe.

    Args:
        features: (H_l, W_l, C) activations Φ(x) of the image being optimised.
        layer_target: `MRFLayer` of this layer.
    """
    recipe, rows, columns = layer_target.recipe, layer_target.rows, layer_target.columns
    guided = _matching_input(features, layer_target.output_semantics, recipe)
    vectors = extract_patches(guided, rows, columns, recipe.size)
    match = nearest_patches(ops.reshape(vectors, (-1, vectors.shape[-1])),
                            layer_target.filters)
    patches = extract_patches(features, rows, columns, recipe.size)  # (h, w, k² C)
    matched = ops.reshape(ops.take(layer_target.patches, match, axis=0), patches.shape)
    squared = ops.square(patches - ops.cast(matched, patches.dtype))
    if recipe.reduction == "mean":
        return ops.mean(squared)
    squared = ops.reshape(squared, (len(rows), len(columns), recipe.size ** 2, -1))
    return 0.5 * ops.sum(squared * ops.cast(layer_target.element_weights, squared.dtype))


@dataclasses.dataclass(frozen=True)
class MRFTarget:
    """The MRF style term Σ_l w_l E_mrf^l over the whole output."""
    layers: dict
    weight: float = 1.0

    def loss(self, features, image, style_layer_weights):
        del image  # The term reads the output's features only.
        return sum(style_layer_weights[layer] * mrf_loss(features[layer], target)
                   for layer, target in self.layers.items())


def mrf_target(model, style_image, regions, layers, recipe):
    """The MRF target of one style image with its map (Li & Wand 2016; Champandard 2016).

    Args:
        model: feature model covering `layers`.
        style_image: (H_s, W_s, 3), the size of the style map.
        regions: `masks.RegionPairs`.
        layers: the MRF layers.
        recipe: `MRFRecipe`.

    Raises:
        ValueError: an image is too small for one patch at some layer.
    """
    features = losses.features_of(model, style_image)
    output_indices = [c for c, _ in regions.pairs]
    style_indices = [s for _, s in regions.pairs]
    layer_targets = {}
    for layer in map(vgg.canonical_layer_name, layers):
        style_features = ops.convert_to_numpy(features[layer])
        output_semantics = semantic_channels(regions.output_map, output_indices, layer)
        positions = min(*style_features.shape[:2], *output_semantics.shape[:2])
        if positions < recipe.size:
            raise ValueError(
                f"the output or the style image is too small for {recipe.size}x{recipe.size} "
                f"patches at {layer} ({positions} positions across): use a larger size or "
                f"scales")
        layer_targets[layer] = mrf_layer(
            style_features, semantic_channels(regions.style_map, style_indices, layer),
            output_semantics, recipe)
    return MRFTarget(layer_targets)


def bounding_box(mask, min_size):
    """(top, bottom, left, right) of a mask's non-zero pixels, grown (about its centre,
    within the image) to at least min_size x min_size so the deepest layer has a position.
    """
    rows, columns = np.nonzero(np.asarray(mask) > 0)
    box = []
    for low, high, limit in ((rows.min(), rows.max() + 1, mask.shape[0]),
                             (columns.min(), columns.max() + 1, mask.shape[1])):
        length = max(high - low, min(min_size, limit))
        low = int(np.clip((low + high - length) // 2, 0, limit - length))  # Centred, inside.
        box += [low, int(low + length)]
    return tuple(box)


def box_area(box):
    top, bottom, left, right = box
    return (bottom - top) * (right - left)


def union_box(first, second):
    return (min(first[0], second[0]), max(first[1], second[1]),
            min(first[2], second[2]), max(first[3], second[3]))


def sub_image_groups(boxes):
    """Groups regions that share one sub-image: [(box, [region indices])].

    Regions start alone in their own boxes; two groups merge while one pass over the
    box round both costs fewer pixels than a pass over each (a background's box is
    often the whole image, and then every region overlapping it rides along).
    """
    groups = [(box, [index]) for index, box in enumerate(boxes)]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                union = union_box(groups[i][0], groups[j][0])
                if box_area(union) < box_area(groups[i][0]) + box_area(groups[j][0]):
                    groups[i] = (union, groups[i][1] + groups[j][1])
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return groups


@dataclasses.dataclass(frozen=True)
class GramPatchTarget:
    """The style terms of the regions that share one sub-image of the output.

    Attributes:
        model: feature model for the style layers, run on the sub-image only; None
            when the sub-image is the whole output, whose features the loss is given.
        box: (top, bottom, left, right) of the sub-image in the output.
        regions: [(statistics, masks)] per region: layer -> the statistic of the
            style's region (its Gram matrix Â_k^l, or another of `style_losses`),
            measured on its own sub-image, and layer -> the region's mask inside `box`
            at that layer.
        weight: share of the style loss.
        style_loss: the statistics (`losses.GRAM` or one of `style_losses`).
    """
    model: object
    box: tuple
    regions: list
    weight: float = 1.0
    style_loss: object = losses.GRAM

    def loss(self, features, image, style_layer_weights):
        top, bottom, left, right = self.box
        sub_features = features if self.model is None else losses.features_of(
            self.model, image[top:bottom, left:right])
        return sum(style_layer_weights[layer] * self.style_loss.compare(
            statistic, sub_features[layer], region_masks[layer])
            for statistics, region_masks in self.regions
            for layer, statistic in statistics.items())


def gram_patch_targets(model, style_image, regions, layers, style_loss=losses.GRAM):
    """`GramPatchTarget`s for the region pairs: sub-image Gram matrices.

    Each style region is measured once on its own bounding box; the output's regions
    are measured on their boxes, grouped by `sub_image_groups`.

    Args:
        model: feature model covering `layers`.
        style_image: (H_s, W_s, 3), the size of the style map.
        regions: `masks.RegionPairs`.
        layers: the style layers.
        style_loss: the statistics compared (`losses.GRAM`, or one of `style_losses`).
    """
    min_size = 2 ** max(vgg.pooling_depth(layer) for layer in layers)
    # A region can vanish at a small size (a thin line in a map shrunk 8 times).
    mask_pairs = [(output_mask, style_mask) for output_mask, style_mask in regions.mask_pairs()
                  if output_mask.any() and style_mask.any()]
    style_statistics = []
    for _, style_mask in mask_pairs:
        top, bottom, left, right = bounding_box(style_mask, min_size)
        style_masks = masks.layer_masks(style_mask[top:bottom, left:right], layers)
        style_statistics.append(losses.style_target(
            model, style_image[top:bottom, left:right], layers, style_masks=style_masks,
            style_loss=style_loss).statistics)
    output_masks = [output_mask for output_mask, _ in mask_pairs]
    height, width = regions.output_map.labels.shape
    targets = []
    for box, members in sub_image_groups([bounding_box(m, min_size) for m in output_masks]):
        top, bottom, left, right = box
        whole = box == (0, height, 0, width)
        targets.append(GramPatchTarget(None if whole else model, box, [
            (style_statistics[k],
             masks.layer_masks(output_masks[k][top:bottom, left:right], layers))
            for k in members], style_loss=style_loss))
    return targets


def needs_whole_output(targets):
    """Whether some target reads the features of the whole output (not a sub-image)."""
    return any(not isinstance(target, GramPatchTarget) or target.model is None
               for target in targets)
