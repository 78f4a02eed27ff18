"""Reproduce the papers' figures: one short recipe per figure, a labelled grid for each.

Each recipe names its paper and figure and what varies, runs the techniques in this
process (the package's functions, not subprocesses), and writes
OUTPUT_DIR/NAME.png (a labelled grid, at most 2048 px wide), OUTPUT_DIR/NAME.json (its
layout and labels) and a run report per cell in OUTPUT_DIR/NAME/. The label strip names
the weights used; with --weights random it says that the picture shows nothing about
the method. A figure that needs an input not given (cin_mix: a trained network) says so
in one line, and the others still run.

Inputs are the repository's samples (samples/); photo and doodle use the deep-photo
pair and Champandard's Monet doodle of ../shared/data when they are there.

Example:
    python scripts/figures.py --figure alpha_beta --size 256 --iterations 200 \
        --output_dir figures
"""

import json
import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import (cin_inference, cli, color, grid, images, losses, masks,  # noqa: E402
                            matting, patches, transfer, vgg)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED_PHOTO = ROOT.parent / "shared" / "data" / "photo"
FIGURES = {}  # name -> (recipe, paper and figure)
SHARED_DOODLE = ROOT.parent / "shared" / "data" / "doodle"

_FIGURE = flags.DEFINE_list("figure", ["all"], "Figures to make (names, or all).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "figures", "Where grids and reports go.")
_CIN_MODEL = flags.DEFINE_string("cin_model", None, "For cin_mix: a network trained with "
                                 "cin_train.py on two or more styles.")


def figure(name, paper):
    def register(recipe):
        FIGURES[name] = (recipe, paper)
        return recipe
    return register


class Run:
    """What every recipe shares: the network, the sizes, and writing each cell's report."""

    def __init__(self, name):
        self.name, self.size = name, cli.SIZE.value
        self.weights = vgg.resolve_weights(cli.WEIGHTS.value, seed=cli.SEED.value)
        self.model = vgg.feature_model(list(vgg.CONTENT_LAYERS + vgg.STYLE_LAYERS),
                                       pooling=cli.POOLING.value, weights=self.weights)
        self.folder = pathlib.Path(_OUTPUT_DIR.value) / name
        self.folder.mkdir(parents=True, exist_ok=True)

    def load(self, path, size=None):
        return images.load(path, max_size=size or self.size)

    def settings(self, **changes):
        base = dict(content_layers=list(vgg.CONTENT_LAYERS),
                    style_layer_weights={layer: 0.2 for layer in vgg.STYLE_LAYERS},
                    content_weight=cli.CONTENT_WEIGHT.value,
                    style_weight=cli.STYLE_WEIGHT.value, tv_weight=cli.TV_WEIGHT.value,
                    iterations=cli.ITERATIONS.value)
        return transfer.GatysSettings(**{**base, **changes})

    def cell(self, label, content, style_targets, init, settings, numpy_terms=None):
        """One optimisation; its image, and its report in the figure's folder."""
        start = time.time()
        result = transfer.stylize(self.model, content, style_targets, init, settings,
                                  numpy_terms=numpy_terms)
        return self.record(label, [cli.Stage.of(self.size, content, [], result)], start)

    def record(self, label, stages, start):
        """Saves a cell's image and report; returns the image."""
        image = stages[-1].result.image
        stem = "".join(c if c.isalnum() else "_" for c in label)
        images.save(image, self.folder / f"{stem}.png")
        cli.write_report(self.folder / f"{stem}.json", stages=stages, weights=self.weights,
                         output=self.folder / f"{stem}.png", start_time=start,
                         extra={"figure": self.name, "cell": label})
        return image

    def targets(self, style, layers=vgg.STYLE_LAYERS, **kwargs):
        return [losses.style_target(self.model, style, list(layers), **kwargs)]

    def caption(self, varies):
        weights = ("RANDOM weights: plumbing only, shows nothing about the method"
                   if self.weights.source == "random" else f"weights: {self.weights.source} "
                   f"{(self.weights.sha256 or '')[:12]}")
        return f"{varies}; {self.size} px, {cli.ITERATIONS.value} iterations; {weights}"


@figure("gatys_style_layers", "Gatys et al. 2016, Fig. 1 (style reconstructions)")
def gatys_style_layers(run):
    """Style alone, from noise, matched on ever more layers: relu1_1 ... relu5_1."""
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    noise = images.initial_image("noise", style, style, seed=cli.SEED.value)
    cells, labels = [style], ["style"]
    for depth in range(1, 6):
        layers = vgg.STYLE_LAYERS[:depth]
        settings = run.settings(content_weight=0.0, style_weight=1.0, tv_weight=0.0,
                                style_layer_weights={layer: 1 / depth for layer in layers})
        labels.append(f"relu1_1..{layers[-1]}")
        cells.append(run.cell(labels[-1], style, run.targets(style, layers), noise, settings))
    return [cells], labels, [], "style layers used (no content)"


@figure("alpha_beta", "Gatys et al. 2016, Fig. 3 (content/style ratio)")
def alpha_beta(run):
    """One content, one style, α/β from 1e-5 to 1e-1."""
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    cells, labels = [content], ["content"]
    for ratio in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1):
        labels.append(f"a/b={ratio:g}")
        cells.append(run.cell(labels[-1], content, run.targets(style), content,
                              run.settings(content_weight=1.0, style_weight=1.0 / ratio)))
    return [cells], labels, [], "alpha/beta, the content-to-style weight ratio (Eq. 7)"


@figure("styles", "Gatys et al. 2016, Fig. 2 (one photo, several paintings)")
def styles(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    paintings = [run.load(p) for p in sorted((SAMPLES / "style").glob("*.jpg"))]
    results = [run.cell(f"style_{k}", content, run.targets(p), content, run.settings())
               for k, p in enumerate(paintings)]
    return [[content] + paintings, [None] + results], [], ["styles", "results"], "the style"


@figure("preserve_color", "Gatys et al. 2017, Fig. 3 (colour preservation)")
def preserve_color(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    plain = run.cell("none", content, run.targets(style), content, run.settings())
    grey = color.luminance_image(content)
    luminance = color.with_content_chroma(run.cell(
        "luminance", grey, run.targets(color.match_luminance(style, content)), grey,
        run.settings()), content)
    histogram = run.cell("histogram", content,
                         run.targets(color.match_color_histogram(style, content)), content,
                         run.settings())
    return ([[content, style, plain, luminance, histogram]],
            ["content", "style", "none", "luminance", "histogram"], [], "--preserve_color")


@figure("coarse_to_fine", "Gatys et al. 2017, Sec. 6 (coarse-to-fine)")
def coarse_to_fine(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    single = run.cell("single", content, run.targets(style), content, run.settings())
    image, sizes = None, sorted({max(32, run.size // 4), max(32, run.size // 2), run.size})
    for size in sizes:  # relu5_1 needs 16 px; the coarsest scale keeps 32.
        small_content, small_style = run.load(SAMPLES / "content" / "chelsea.jpg", size), \
            run.load(SAMPLES / "style" / "swirls.jpg", size)
        init = small_content if image is None else images.resize(image, *small_content.shape[:2])
        image = run.cell(f"scale_{size}", small_content, run.targets(small_style), init,
                         run.settings())
    return ([[content, single, image]],
            ["content", "single scale", "scales " + ",".join(map(str, sizes))], [],
            "one size against coarse-to-fine at the same final size")


@figure("masks", "Gatys et al. 2017, Fig. 5 (spatial control) and masked compositing")
def masks_figure(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    swirls = run.load(SAMPLES / "style" / "swirls.jpg")
    hubble = run.load(SAMPLES / "style" / "hubble_deep_field.jpg")
    height, width = content.shape[:2]
    left = masks.load_mask(SAMPLES / "masks" / "chelsea_left.png", height, width)
    styled = run.cell("stylised", content, run.targets(swirls), content, run.settings())
    hard = masks.composite(styled, content, left)
    soft = masks.composite(color.match_region_colors(styled, content, left), content,
                           masks.feather(left, 12))
    targets = losses.masked_style_targets(run.model, [swirls, hubble], [left, 1 - left],
                                          list(vgg.STYLE_LAYERS))
    multi = run.cell("multi_style", content, targets, content, run.settings())
    return ([[content, hard, soft, multi]],
            ["content", "composite", "feathered+colour", "multi_style"], [],
            "masked_transfer plain and with --feather_radius 12 --match_color content; "
            "multi_style with two styles")


@figure("photo", "Luan et al. 2017, Fig. 1 (Gatys et al. against deep photo)")
def photo(run):
    if (SHARED_PHOTO / "photo_24_content.jpg").is_file():
        content = run.load(SHARED_PHOTO / "photo_24_content.jpg")
        style = run.load(SHARED_PHOTO / "photo_24_style.jpg")
    else:
        content = run.load(SAMPLES / "content" / "chelsea.jpg")
        style = run.load(SAMPLES / "content" / "astronaut.jpg")
    gatys = run.cell("gatys", content, run.targets(style), content, run.settings())
    laplacian = matting.matting_laplacian(content / 255.0)
    content_size = np.prod(vgg.feature_shape(run.model, "relu4_2", *content.shape[:2]))
    weight = matting.photorealism_weight(1e4, content_size)  # The paper's λ = 10⁴.
    photoreal = run.cell("photo_style", content, run.targets(style), gatys, run.settings(),
                         numpy_terms=matting.photorealism_term(laplacian, weight))
    return [[content, style, gatys, photoreal]], ["content", "style", "Gatys", "photo_style"], \
        [], "the photorealism term (no segmentation)"


@figure("doodle", "Champandard 2016, Fig. 1 (a doodle becomes a Monet)")
def doodle(run):
    """doodle_2_art with its defaults: MRF patches on relu3_1 and relu4_1, from noise,
    coarse to fine over two scales (Champandard's phases)."""
    if (SHARED_DOODLE / "monet.jpg").is_file():  # The paper's own example.
        painting, painting_map, sketch = (SHARED_DOODLE / "monet.jpg",
                                          SHARED_DOODLE / "monet_sem.png",
                                          SHARED_DOODLE / "coastline_sem.png")
    else:
        painting, painting_map, sketch = (SAMPLES / "style" / "swirls.jpg",
                                          SAMPLES / "masks" / "swirls_map.png",
                                          SAMPLES / "masks" / "doodle.png")
    settings = run.settings(content_layers=[], style_weight=1.0,  # β = 1 for MRF.
                            style_layer_weights={layer: 0.5 for layer in patches.MRF_LAYERS})
    sizes = sorted({max(48, run.size // 2), run.size})  # relu4_1 needs 3 positions.
    start = time.time()
    stages, _, _ = cli.coarse_to_fine_patches(
        run.model, settings, patches.PatchSettings("mrf"), run.load(sketch), run.load(painting),
        maps=(sketch, painting_map), sizes=sizes, with_content=False,
        map_names=("doodle", "painting map"),
        initial=lambda doodle, style: images.initial_image("noise", doodle, style,
                                                           seed=cli.SEED.value))
    art = run.record("doodle_2_art", stages, start)
    return ([[run.load(painting), run.load(painting_map), run.load(sketch), art]],
            ["painting", "its map", "doodle", "doodle_2_art"], [],
            "MRF patches with semantic channels, from noise, two scales")


@figure("cin_mix", "Dumoulin et al. 2017, Fig. 7 (interpolating between styles)")
def cin_mix(run):
    stylizer = cin_inference.Stylizer(keras.models.load_model(_CIN_MODEL.value))
    photo = run.load(SAMPLES / "content" / "chelsea.jpg")
    rows = cin_inference.interpolation_rows(stylizer, photo, 5)
    labels = [f"{t:.2f}" for t in np.linspace(0.0, 1.0, 5)]
    return rows, labels, [f"{s}->{s + 1}" for s in range(len(rows))], \
        f"the next style's weight; network {pathlib.Path(_CIN_MODEL.value).name}"


def main(argv):
    del argv  # Unused.
    names = list(FIGURES) if _FIGURE.value == ["all"] else _FIGURE.value
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"--figure {','.join(unknown)}: unknown; use all or any of "
                         f"{', '.join(FIGURES)}")
    for name in names:
        if name == "cin_mix" and not _CIN_MODEL.value:
            cli.say("cin_mix: skipped, give --cin_model (a network trained with "
                    "scripts/cin_train.py on two or more styles)", cli.QUIET.value)
            continue
        recipe, paper = FIGURES[name]
        run = Run(name)
        cells, column_labels, row_labels, varies = recipe(run)
        picture = grid.draw_grid(cells, title=f"{name}: {paper}", caption=run.caption(varies),
                                 column_labels=column_labels, row_labels=row_labels)
        path = pathlib.Path(_OUTPUT_DIR.value) / f"{name}.png"
        images.save(picture.astype(np.float32), path)
        layout = {"figure": name, "paper": paper, "caption": run.caption(varies),
                  "rows": len(cells), "columns": max(len(row) for row in cells),
                  "column_labels": column_labels, "row_labels": row_labels,
                  "weights": run.weights.to_json()}
        text = json.dumps(layout, indent=1).encode()
        images.write_atomically(path.with_suffix(".json"), lambda f: f.write(text))
        cli.say(f"{name}: wrote {path} ({picture.shape[1]}x{picture.shape[0]})", cli.QUIET.value)
    return 0


if __name__ == "__main__":
    cli.run(main)
