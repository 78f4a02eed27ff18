"""The losses of neural style transfer, written with `keras.ops` (any Keras backend).

Equation numbers are those of Gatys, Ecker & Bethge, "Image Style Transfer Using
Convolutional Neural Networks", CVPR 2016 (arXiv:1508.06576 is the shorter 2015 version).
Notation: layer l has N_l filters, each a feature map of M_l = H_l * W_l positions;
F^l (M_l, N_l) are the activations of the image being generated, P^l those of the
content image, A^l the Gram matrix of the style image.

Every function here is pure: tensors in, tensor out, sizes read from the tensors.
"""

import dataclasses

from keras import ops

from style_transfer import vgg


def gram_matrix(features):
    """Gram matrix G^l_ij = Σ_k F^l_ik F^l_jk (Gatys et al. 2016, Eq. 3).

    Args:
        features: (H, W, C) activations of one layer.

    Returns:
        (C, C) un-normalised Gram matrix (a sum over the H*W positions).
    """
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))  # (M, N)
    return ops.matmul(ops.transpose(flat), flat)


def content_loss(content_features, generated_features):
    """Content term L_content = 1/2 Σ_ij (F^l_ij - P^l_ij)² (Gatys et al. 2016, Eq. 1).

    Args:
        content_features: (H, W, C) activations P^l of the content image.
        generated_features: (H, W, C) activations F^l of the image being optimised.
    """
    return 0.5 * ops.sum(ops.square(generated_features - content_features))


def style_loss(style_gram, generated_features):
    """Style term E_l = 1/(4 N_l² M_l²) Σ_ij (G^l_ij - A^l_ij)² (Gatys et al. 2016, Eq. 4).

    Computed as Σ (G/M - A/M)² / (4 N²), the same number with float32-friendly
    magnitudes (G grows with M times the squared activations).

    Args:
        style_gram: (C, C) Gram matrix A^l of the style image, at the output's size
            (see `style_targets`).
        generated_features: (H, W, C) activations F^l of the image being optimised.
    """
    height, width, channels = ops.shape(generated_features)
    num_positions = float(height * width)
    difference = (gram_matrix(generated_features) - style_gram) / num_positions
    return ops.sum(ops.square(difference)) / (4.0 * float(channels) ** 2)


def total_variation_loss(image):
    """Total variation Σ_ij (x_i,j+1 - x_ij)² + (x_i+1,j - x_ij)², summed over channels.

    Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
    2015 (arXiv:1412.0035), Eq. 5 with β = 2, the smoothness prior that Gatys-style
    implementations add. Differences are taken between neighbours inside the image only.

    Args:
        image: (H, W, 3).
    """
    vertical = image[1:, :, :] - image[:-1, :, :]
    horizontal = image[:, 1:, :] - image[:, :-1, :]
    return ops.sum(ops.square(vertical)) + ops.sum(ops.square(horizontal))


@dataclasses.dataclass(frozen=True)
class GatysTargets:
    """What the generated image is pulled towards, computed once before optimising.

    Attributes:
        content_features: layer -> (H_l, W_l, C_l) activations P^l of the content image.
        style_grams: one dict per style image: layer -> (C_l, C_l) Gram matrix A^l.
    """
    content_features: dict
    style_grams: list


def features_of(model, image):
    """Runs the feature model on one RGB image (H, W, 3) in [0, 255]: layer -> (H, W, C)."""
    batch = model(vgg.preprocess(ops.convert_to_tensor(image, model.compute_dtype))[None])
    return {layer: value[0] for layer, value in batch.items()}


def _check_spatial_size(features, image, what):
    for layer, value in features.items():
        if value.shape[0] == 0 or value.shape[1] == 0:
            raise ValueError(
                f"{what} ({image.shape[1]}x{image.shape[0]} px) is too small for layer "
                f"{layer} (each VGG19 block halves the size; relu5_x needs 16 px): use a "
                f"larger --size or --style_scale, or shallower layers")


def style_targets(model, style_image, output_features, style_layers):
    """Style Gram matrices A^l of one style image, scaled to the output's size.

    The Gram matrix is a sum over positions, so a style image of another size than the
    output has A^l in other units than G^l. Following common practice (jcjohnson's
    neural-style normalises both by the number of positions), A^l is rescaled by
    M_l(output) / M_l(style); when the sizes agree this is exactly the paper's A^l.

    Args:
        model: feature model from `vgg.feature_model`.
        style_image: (H_s, W_s, 3) RGB in [0, 255].
        output_features: layer -> (H_l, W_l, C_l) features of an image of the output's
            size (the content image's features), used for M_l(output) only.
        style_layers: layers to compute the Gram matrix at.
    """
    style_features = features_of(model, style_image)
    _check_spatial_size(style_features, style_image, "the style image")
    grams = {}
    for layer in style_layers:
        out_h, out_w = output_features[layer].shape[:2]
        style_h, style_w = style_features[layer].shape[:2]
        grams[layer] = gram_matrix(style_features[layer]) * ((out_h * out_w)
                                                             / (style_h * style_w))
    return grams


def gatys_targets(model, content_image, style_images, content_layers, style_layers):
    """Content features and style Grams, computed once (Gatys et al. 2016, Sec. 2).

    Args:
        model: feature model covering all content and style layers.
        content_image: (H, W, 3) RGB in [0, 255]; the output has its size.
        style_images: list of (H_s, W_s, 3) RGB images in [0, 255].
        content_layers, style_layers: canonical layer names.

    Returns:
        `GatysTargets`.

    Raises:
        ValueError: an image too small for the deepest layer.
    """
    content_all = features_of(model, content_image)
    _check_spatial_size(content_all, content_image, "the content image")
    return GatysTargets(
        content_features={layer: content_all[layer] for layer in content_layers},
        style_grams=[style_targets(model, style, content_all, style_layers)
                     for style in style_images])


def gatys_loss(features, image, targets, *, content_weight, style_weight, tv_weight,
               style_layer_weights, style_blend_weights):
    """Total loss L = α L_content + β L_style + λ_tv L_tv (Gatys et al. 2016, Eq. 7).

    L_style = Σ_s b_s Σ_l w_l E_l^s (Eq. 5), summed over style images s with blend
    weights b_s: each style keeps its own Gram target (a weighted sum of the styles'
    losses, not a loss against an averaged Gram), as jcjohnson/neural-style does.
    L_content is summed over the content layers.

    Args:
        features: layer -> (H_l, W_l, C_l) activations of `image`.
        image: (H, W, 3) the image being optimised, RGB in [0, 255].
        targets: `GatysTargets`.
        content_weight: α.
        style_weight: β.
        tv_weight: weight of the total variation prior (0 turns it off).
        style_layer_weights: layer -> w_l.
        style_blend_weights: one b_s per style image.

    Returns:
        dict with the weighted terms "content", "style", "tv" and their sum "total".
    """
    content = sum(content_loss(target, features[layer])
                  for layer, target in targets.content_features.items())
    style = sum(
        blend * sum(style_layer_weights[layer] * style_loss(gram, features[layer])
                    for layer, gram in grams.items())
        for blend, grams in zip(style_blend_weights, targets.style_grams))
    terms = {"content": content_weight * content,
             "style": style_weight * style,
             "tv": tv_weight * total_variation_loss(image)}
    terms["total"] = terms["content"] + terms["style"] + terms["tv"]
    return terms
