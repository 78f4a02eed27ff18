"""Semantic style transfer by patches: region sub-images, and MRF patch matching.

Both take colour-coded maps of the output and of the style image (`masks.read_label_map`)
whose regions are paired by colour, and send the style of style region k to output
region k. Each kind of target has a `loss(features, image, style_layer_weights)` method
that `losses.gatys_loss` sums over, like `losses.StyleTarget`.

Gram patches (`--patch_loss gram`). Each region's bounding box is cut out of the style
image and of the output as a sub-image; features and Gram matrices are computed on the
sub-image alone, so no work is spent on the rest of the image, and the two sub-images
need not have the same size. Inside the box the Gram matrix is that of the region's own
pixels (`losses.mean_gram_matrix` with the region's mask):

    E_k = Σ_l w_l Σ_ij (Ĝ_k^l - Â_k^l)_ij² / (4 N_l²)

The work per evaluation is one VGG19 pass over each output sub-image, so output regions
whose boxes overlap so much that one pass over the box round them costs fewer pixels
share that pass (`sub_image_groups`); each keeps its own mask and Gram matrices. A
sub-image that is the whole output reads the one pass the content term needs anyway.

MRF patches (`--patch_loss mrf`): Li & Wand, "Combining Markov Random Fields and
Convolutional Neural Networks for Image Synthesis", CVPR 2016 (arXiv:1601.04589), with
the semantic channels of Champandard, "Semantic Style Transfer and Turning Two-Bit
Doodles into Fine Artworks", 2016 (arXiv:1603.01768), Sec. 3. At a layer l (relu3_1,
relu4_1), the features Φ get the maps, down-sampled to the layer as the network pools,
as extra channels: one channel per region, weighted by ω (--semantic_weight):

    Φ̃ = [Φ, ω r_l M]      r_l: the style features' root-mean-square vector norm, so
                           ω = 1 gives a region channel the norm of a typical feature
                           vector whatever the layer's scale (our choice).

Every k x k patch Ψ_i of the output (stride d) is matched to the style patch with the
highest normalised cross-correlation (Li & Wand, Eq. 3),

    NN(i) = argmax_j  Ψ_i(Φ̃(x)) · Ψ_j(Φ̃(s)) / (|Ψ_i(Φ̃(x))| |Ψ_j(Φ̃(s))|),

computed as one convolution of Φ̃(x) with the normalised style patches as filters
(|Ψ_i(Φ̃(x))| is the same for every j, so it does not change the winner). The loss pulls
each output patch towards its match, on the features only (Li & Wand, Eq. 2):

    E_mrf^l = Σ_i |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|²

The matches are found again at every evaluation; they are constants for the gradient.
The scores are computed in chunks of style patches, one after the other, so the score
tensor never exceeds `MAX_SCORE_BYTES` however large the images.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from keras import ops

from style_transfer import losses, masks, vgg

PATCH_LOSSES = ("gram", "mrf")
MRF_LAYERS = ("relu3_1", "relu4_1")  # Li & Wand 2016 (CNNMRF's code: layers 12 and 21).
PATCH_SIZE = 3  # k: 3x3 patches of activations (Li & Wand 2016; CNNMRF's mrf_patch_size).
# d: patches are sampled every 2 positions on both images (CNNMRF's run_trans.lua
# defaults, mrf_sample_stride and mrf_synthesis_stride): 16x fewer scores than d = 1.
PATCH_STRIDE = 2
SEMANTIC_WEIGHT = 1.0  # ω; see the module docstring for its scale.
# The largest score tensor (output patches x style patches, float32) built at once.
MAX_SCORE_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class PatchSettings:
    """How regions are compared.

    Attributes:
        loss: "gram" (sub-image Gram matrices) or "mrf" (Li & Wand patches).
        semantic_weight: ω, weight of the map channels in MRF matching.
        size: k, the MRF patch size in feature positions.
        stride: d, the step between MRF patches on both images.
    """
    loss: str = "gram"
    semantic_weight: float = SEMANTIC_WEIGHT
    size: int = PATCH_SIZE
    stride: int = PATCH_STRIDE


def extract_patches(features, size, stride):
    """All size x size patches of a feature map, every `stride` positions (no padding).

    Args:
        features: (H, W, C).

    Returns:
        (h, w, size * size * C), h = (H - size) // stride + 1; each patch flattened in
        (row, column, channel) order, the layout of a convolution kernel (size, size, C).
    """
    height, width = features.shape[0], features.shape[1]
    rows, columns = (height - size) // stride + 1, (width - size) // stride + 1
    # Slicing, not ops.image.extract_patches: Keras builds that as a convolution with
    # a (size² C)² identity kernel, 9 C times the work of copying.
    shifted = [features[dy:dy + (rows - 1) * stride + 1:stride,
                        dx:dx + (columns - 1) * stride + 1:stride, :]
               for dy in range(size) for dx in range(size)]
    return ops.reshape(ops.stack(shifted, axis=2), (rows, columns, -1))


def semantic_channels(label_map, indices, layer):
    """The regions `indices` of a map as one channel each, at `layer`'s size: (H_l, W_l, K)."""
    layer = vgg.canonical_layer_name(layer)
    return np.stack([masks.layer_masks(label_map.mask(i), [layer])[layer] for i in indices],
                    axis=-1)


def nearest_patches(features, filters, stride):
    """NN(i) of Li & Wand 2016, Eq. 3: the best style patch for every output patch.

    Args:
        features: (H, W, C') output features with their semantic channels.
        filters: (num_chunks, k, k, C', chunk) the style patches, each divided by its
            norm, in chunks (see `MRFLayer`).
        stride: d, the step between output patches.

    Returns:
        (h, w) int32 indices into the style patches (chunk-major order).
    """
    image = ops.stop_gradient(features)[None]  # (1, H, W, C')
    filters = ops.convert_to_tensor(filters, image.dtype)
    size, chunk = filters.shape[1], filters.shape[-1]
    rows = (features.shape[0] - size) // stride + 1
    columns = (features.shape[1] - size) // stride + 1

    def best_in_chunk(index, best_score, best_patch):
        scores = ops.conv(image, filters[index], strides=stride, padding="valid")[0]
        score = ops.max(scores, axis=-1)  # (h, w)
        patch = ops.cast(ops.argmax(scores, axis=-1), "int32") + index * chunk
        better = score > best_score
        return index + 1, ops.where(better, score, best_score), ops.where(better, patch,
                                                                             best_patch)

    # One chunk at a time (parallel_iterations=1): running them side by side would
    # hold several score tensors at once.
    _, _, best_patch = tf.while_loop(
        lambda index, *_: index < filters.shape[0], best_in_chunk,
        (tf.constant(0), ops.full((rows, columns), -np.inf, dtype=image.dtype),
         ops.zeros((rows, columns), dtype="int32")),
        parallel_iterations=1)
    return best_patch


def mrf_loss(features, layer_target):
    """E_mrf^l = Σ_i |Ψ_i(Φ(x)) - Ψ_NN(i)(Φ(s))|² (Li & Wand 2016, Eq. 2) at one layer.

    Args:
        features: (H_l, W_l, C) activations Φ(x) of the image being optimised.
        layer_target: `MRFLayer` of this layer.
    """
    semantic = ops.cast(layer_target.output_semantics, features.dtype)
    match = nearest_patches(ops.concatenate([features, semantic], axis=-1),
                            layer_target.filters, layer_target.stride)
    size = layer_target.filters.shape[1]
    patches = extract_patches(features, size, layer_target.stride)  # (h, w, k² C)
    matched = ops.take(layer_target.patches, ops.reshape(match, (-1,)), axis=0)
    return ops.sum(ops.square(ops.reshape(patches, matched.shape) - matched))


@dataclasses.dataclass(frozen=True)
class MRFLayer:
    """The style patches of one layer, ready for matching.

    Attributes:
        filters: (num_chunks, k, k, C + K, chunk): Ψ_j(Φ̃(s)) / |Ψ_j(Φ̃(s))|,
            features and semantic channels, as convolution filters. The last chunk is
            filled up with copies of patch 0 (a copy can win only where patch 0 scores
            as high, up to rounding; its target patch is the same).
        patches: (num_chunks * chunk, k² C): Ψ_j(Φ(s)), features only, the
            targets of the loss, in the same order (copies included).
        output_semantics: (H_l, W_l, K) the output's region channels, ω r_l M.
        stride: d.
    """
    filters: np.ndarray
    patches: np.ndarray
    output_semantics: np.ndarray
    stride: int


@dataclasses.dataclass(frozen=True)
class MRFTarget:
    """The MRF style term Σ_l w_l E_mrf^l over the whole output."""
    layers: dict
    weight: float = 1.0

    def loss(self, features, image, style_layer_weights):
        del image  # The term reads the output's features only.
        return sum(style_layer_weights[layer] * mrf_loss(features[layer], target)
                   for layer, target in self.layers.items())


def mrf_layer(style_features, style_semantics, output_semantics, semantic_weight, size,
              stride):
    """Prepares one layer's style patches (`MRFLayer`) from numpy arrays.

    Args:
        style_features: (H_s, W_s, C) Φ(s).
        style_semantics: (H_s, W_s, K) the style map's region channels M at this layer.
        output_semantics: (H_l, W_l, K) the output map's, in the same region order.
        semantic_weight: ω.
        size, stride: k and d.
    """
    style_features = np.asarray(style_features)  # float32, or float64 in gradient tests.
    scale = semantic_weight * np.sqrt(np.mean(np.sum(np.square(style_features), axis=-1)))
    guided = np.concatenate([style_features, scale * style_semantics], axis=-1)
    filters = np.array(extract_patches(guided, size, stride)).reshape(-1, size, size,
                                                                       guided.shape[-1])
    filters /= np.maximum(np.sqrt(np.sum(np.square(filters), axis=(1, 2, 3),
                                         keepdims=True)), 1e-12)
    patches = np.asarray(extract_patches(style_features, size, stride)).reshape(
        len(filters), -1)
    output_positions = np.prod([(n - size) // stride + 1 for n in output_semantics.shape[:2]])
    score_bytes = output_positions * filters.dtype.itemsize  # One style patch's scores.
    chunk = int(min(len(filters), max(1, MAX_SCORE_BYTES // score_bytes)))
    num_chunks = -(-len(filters) // chunk)
    fill = np.zeros(num_chunks * chunk - len(filters), np.int64)  # Copies of patch 0.
    filters, patches = np.concatenate([filters, filters[fill]]), np.concatenate(
        [patches, patches[fill]])
    filters = filters.reshape(num_chunks, chunk, *filters.shape[1:]).transpose(0, 2, 3, 4, 1)
    return MRFLayer(np.ascontiguousarray(filters), patches,
                    (scale * output_semantics).astype(style_features.dtype), stride)


def mrf_target(model, style_image, style_map, output_map, pairs, layers, *,
               semantic_weight=SEMANTIC_WEIGHT, size=PATCH_SIZE, stride=PATCH_STRIDE):
    """The MRF target of one style image with its map (Li & Wand 2016; Champandard 2016).

    Args:
        model: feature model covering `layers`.
        style_image: (H_s, W_s, 3), the size of `style_map`.
        style_map, output_map: `masks.LabelMap`s of the style image and of the output.
        pairs: [(output index, style index)] from `masks.pair_maps`.
        layers: the MRF layers.
        semantic_weight, size, stride: ω, k, d.

    Raises:
        ValueError: an image is too small for one patch at some layer.
    """
    features = losses.features_of(model, style_image)
    layer_targets = {}
    for layer in map(vgg.canonical_layer_name, layers):
        style_features = np.asarray(features[layer])
        output_semantics = semantic_channels(output_map, [c for c, _ in pairs], layer)
        positions = min(*style_features.shape[:2], *output_semantics.shape[:2])
        if positions < size:
            raise ValueError(
                f"the output or the style image is too small for {size}x{size} patches at "
                f"{layer} ({positions} positions across): use a larger --size or --scales")
        layer_targets[layer] = mrf_layer(
            style_features, semantic_channels(style_map, [s for _, s in pairs], layer),
            output_semantics, semantic_weight, size, stride)
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
        regions: [(grams, masks)] per region: layer -> (C, C) mean Gram matrix Â_k^l of
            the style's region (measured on its own sub-image), and layer -> the
            region's mask inside `box` at that layer.
        weight: share of the style loss.
    """
    model: object
    box: tuple
    regions: list
    weight: float = 1.0

    def loss(self, features, image, style_layer_weights):
        top, bottom, left, right = self.box
        sub_features = features if self.model is None else losses.features_of(
            self.model, image[top:bottom, left:right])
        return sum(style_layer_weights[layer] * losses.masked_style_loss(
            gram, sub_features[layer], region_masks[layer])
            for grams, region_masks in self.regions for layer, gram in grams.items())


def gram_patch_targets(model, style_image, style_map, output_map, pairs, layers):
    """`GramPatchTarget`s for the region pairs: sub-image Gram matrices.

    Each style region is measured once on its own bounding box; the output's regions
    are measured on their boxes, grouped by `sub_image_groups`.

    Args:
        model: feature model covering `layers`.
        style_image: (H_s, W_s, 3), the size of `style_map`.
        style_map, output_map: `masks.LabelMap`s.
        pairs: [(output index, style index)].
        layers: the style layers.
    """
    min_size = 2 ** max(vgg.pooling_depth(layer) for layer in layers)
    # A region can vanish at a small size (a thin line in a map shrunk 8 times).
    pairs = [(c, s) for c, s in pairs
             if output_map.mask(c).any() and style_map.mask(s).any()]
    style_grams = []
    for _, style_index in pairs:
        style_mask = style_map.mask(style_index)
        top, bottom, left, right = bounding_box(style_mask, min_size)
        style_masks = masks.layer_masks(style_mask[top:bottom, left:right], layers)
        style_grams.append(losses.style_target(
            model, style_image[top:bottom, left:right], layers, style_masks=style_masks).grams)
    output_masks = [output_map.mask(output_index) for output_index, _ in pairs]
    targets = []
    for box, members in sub_image_groups([bounding_box(m, min_size) for m in output_masks]):
        top, bottom, left, right = box
        whole = box == (0, output_map.labels.shape[0], 0, output_map.labels.shape[1])
        targets.append(GramPatchTarget(None if whole else model, box, [
            (style_grams[k], masks.layer_masks(output_masks[k][top:bottom, left:right], layers))
            for k in members]))
    return targets


def patch_targets(settings, model, style_image, style_map, output_map, pairs, layers):
    """The style targets of `settings.loss`: one `MRFTarget`, or a `GramPatchTarget` per
    region pair (arguments as `mrf_target` and `gram_patch_targets`)."""
    if settings.loss == "mrf":
        return [mrf_target(model, style_image, style_map, output_map, pairs, layers,
                           semantic_weight=settings.semantic_weight, size=settings.size,
                           stride=settings.stride)]
    return gram_patch_targets(vgg.sub_model(model, layers), style_image, style_map,
                              output_map, pairs, layers)


def needs_whole_output(targets):
    """Whether some target reads the features of the whole output (not a sub-image)."""
    return any(not isinstance(target, GramPatchTarget) or target.model is None
               for target in targets)
