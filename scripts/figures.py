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

import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import (compositing, files, gatys, grid, images, masks,  # noqa: E402
                            photo, reporting, semantic, style_losses, vgg)

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"
FIGURES = {}  # name -> (recipe, paper and figure, whether its cells optimise)

_FIGURE = cli.text_list("figure", ["all"], "Figures to make (names, or all).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "figures", "Where grids and reports go.")
_CIN_MODEL = flags.DEFINE_string("cin_model", None, "For cin_mix: a network trained with "
                                 "cin_train.py on two or more styles.")
_SIZE = cli.number("size", 256, "Longest side of every cell.", integer=True, low=16,
                   high=4096)
_ITERATIONS = cli.number("iterations", 200, "L-BFGS iterations of every cell (per size).",
                         integer=True, low=1, high=10 ** 6)
_NETWORK = flags.DEFINE_enum("network", "vgg19", list(vgg.NETWORKS), "The feature network.")
_WEIGHTS = flags.DEFINE_string("weights", "imagenet", "Network weights: imagenet, random "
                               "(plumbing only), or a weights file.")
_SEED = cli.number("seed", 0, "Seed of noise images and random weights.", integer=True, low=0,
                   high=2 ** 31 - 1)
_QUIET = cli.quiet_flag()
cli.group("method", "figure", "cin_model", "size", "iterations", "network", "weights", "seed")
cli.group("output", "output_dir")


def figure(name, paper, optimises=True):
    def register(recipe):
        FIGURES[name] = (recipe, paper, optimises)
        return recipe
    return register


class Run:
    """What every recipe shares: the run's common arguments, and a report per cell."""

    def __init__(self, name, optimises=True):
        self.name, self.size = name, _SIZE.value
        self.common = dict(size=self.size, iterations=_ITERATIONS.value,
                           network=_NETWORK.value, weights=_WEIGHTS.value, seed=_SEED.value)
        # The cells' network weights, found before any cell runs. A figure that optimises
        # nothing (cin_mix) needs none: it names the weights its network was trained with.
        self.optimises = optimises
        self.weights = vgg.resolve_weights(_WEIGHTS.value, seed=_SEED.value,
                                           network=_NETWORK.value) if optimises else None
        self.folder = pathlib.Path(_OUTPUT_DIR.value) / name  # Made by the first cell.
        self.reports = {}  # label -> the cell's run report, as written.

    def load(self, path, size=None):
        return images.load(path, max_size=size or self.size)

    def cell(self, label, technique, *args, **options):
        """One technique run with the common arguments; its image, its report saved."""
        start = time.time()
        result = technique(*args, progress=None, **{**self.common, **options})
        stem = "".join(c if c.isalnum() else "_" for c in label)
        files.make_folder(self.folder, "output_dir")
        result.save(self.folder / f"{stem}.png")
        self.reports[label] = {**result.to_json(), "figure": self.name, "cell": label}
        reporting.write_report(self.folder / f"{stem}.json", self.reports[label],
                               start_time=start)
        return result.image

    def caption(self, varies):
        if self.weights is None:
            return f"{varies}; {self.size} px; trained with unknown weights"
        network = vgg.get_network(self.weights.network).title
        weights = (f"{network}, RANDOM weights: plumbing only, shows nothing about the method"
                   if self.weights.source == "random" else f"{network} weights: "
                   f"{self.weights.source} {(self.weights.sha256 or '')[:12]}")
        if not self.optimises:
            return f"{varies}; {self.size} px; trained with {weights}"
        return f"{varies}; {self.size} px, {_ITERATIONS.value} iterations; {weights}"


@figure("gatys_style_layers", "Gatys et al. 2016, Fig. 1 (style reconstructions)")
def gatys_style_layers(run):
    """Style alone, from noise, matched on ever more layers: relu1_1 ... relu5_1."""
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    cells, labels = [style], ["style"]
    for depth in range(1, 6):
        layers = vgg.STYLE_LAYERS[:depth]
        labels.append(f"relu1_1..{layers[-1]}")
        cells.append(run.cell(labels[-1], gatys.style_transfer, style, style,
                              content_weight=0.0, style_layers=layers, init="noise"))
    return [cells], labels, [], "style layers used (no content)"


@figure("alpha_beta", "Gatys et al. 2016, Fig. 3 (content/style ratio)")
def alpha_beta(run):
    """One content, one style, α/β from 1e-5 to 1e-1 in our units (README): the
    default is α/β = 1e-2 at 512 px (α = 1, β = 1e2; docs/balance.md)."""
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    cells, labels = [content], ["content"]
    for ratio in (1e-5, 1e-4, 1e-3, 1e-2, 1e-1):
        labels.append(f"a/b={ratio:g}")
        cells.append(run.cell(labels[-1], gatys.style_transfer, content, style,
                              content_weight=1.0, style_weight=1.0 / ratio))
    return [cells], labels, [], "alpha/beta, the content-to-style weight ratio (Eq. 7)"


@figure("styles", "Gatys et al. 2016, Fig. 2 (one photo, several paintings)")
def styles(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    paintings = [run.load(SAMPLES / "style" / f"{name}.jpg")  # Three of the paper's five.
                 for name in ("starry_night", "the_scream", "great_wave", "swirls")]
    results = [run.cell(f"style_{k}", gatys.style_transfer, content, p)
               for k, p in enumerate(paintings)]
    return [[content] + paintings, [None] + results], [], ["styles", "results"], "the style"


@figure("preserve_color", "Gatys et al. 2017, Fig. 3 (colour preservation)")
def preserve_color(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    modes = ("none", "luminance", "histogram")
    results = [run.cell(mode, gatys.style_transfer, content, style, preserve_color=mode)
               for mode in modes]
    return [[content, style] + results], ["content", "style", *modes], [], "preserve_color"


@figure("coarse_to_fine", "Gatys et al. 2017, Sec. 6 (coarse-to-fine)")
def coarse_to_fine(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    style = run.load(SAMPLES / "style" / "swirls.jpg")
    single = run.cell("single", gatys.style_transfer, content, style)
    sizes = sorted({max(32, run.size // 4), max(32, run.size // 2), run.size})  # relu5_1.
    scaled = run.cell("scales", gatys.style_transfer, content, style, scales=sizes)
    return ([[content, single, scaled]],
            ["content", "single scale", "scales " + ",".join(map(str, sizes))], [],
            "one size against coarse-to-fine at the same final size")


@figure("masks", "Gatys et al. 2017, Fig. 5 (spatial control) and masked compositing")
def masks_figure(run):
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    swirls = run.load(SAMPLES / "style" / "swirls.jpg")
    hubble = run.load(SAMPLES / "style" / "hubble_deep_field.jpg")
    left = masks.load_mask(SAMPLES / "masks" / "chelsea_left.png", *content.shape[:2])
    styled = run.cell("stylised", gatys.style_transfer, content, swirls)
    hard = compositing.masked_transfer(content, styled, left, feather_radius=0.0).image
    soft = compositing.masked_transfer(content, styled, left, feather_radius=12.0,
                                 match_color="content").image
    multi = run.cell("multi_style", gatys.multi_style, content, [swirls, hubble],
                     [left, 1 - left])
    return ([[content, hard, soft, multi]],
            ["content", "composite", "feathered+colour", "multi_style"], [],
            "masked_transfer plain and with feather_radius 12, match_color content; "
            "multi_style with two styles")


@figure("photo", "Luan et al. 2017, Fig. 1 (Gatys et al. against deep photo)")
def photo_figure(run):
    if (SHARED / "photo" / "photo_24_content.jpg").is_file():
        content = run.load(SHARED / "photo" / "photo_24_content.jpg")
        style = run.load(SHARED / "photo" / "photo_24_style.jpg")
    else:
        content = run.load(SAMPLES / "content" / "chelsea.jpg")
        style = run.load(SAMPLES / "content" / "astronaut.jpg")
    plain = run.cell("gatys", gatys.style_transfer, content, style)
    photoreal = run.cell("photo_style", photo.photo_style, content, style)
    return [[content, style, plain, photoreal]], ["content", "style", "Gatys", "photo_style"], \
        [], "the photorealism term (no segmentation), each with its defaults"


@figure("doodle", "Champandard 2016, Fig. 1 (a doodle becomes a Monet)")
def doodle(run):
    """doodle_2_art with its defaults (neural-doodle's): MRF patches on relu3_1 and
    relu4_1, from noise, coarse to fine."""
    if (SHARED / "doodle" / "monet.jpg").is_file():  # The paper's own example.
        painting, painting_map, sketch = (SHARED / "doodle" / "monet.jpg",
                                          SHARED / "doodle" / "monet_sem.png",
                                          SHARED / "doodle" / "coastline_sem.png")
    else:
        painting, painting_map, sketch = (SAMPLES / "style" / "swirls.jpg",
                                          SAMPLES / "masks" / "swirls_map.png",
                                          SAMPLES / "masks" / "doodle.png")
    art = run.cell("doodle_2_art", semantic.doodle_2_art, sketch, painting, painting_map)
    return ([[run.load(painting), run.load(painting_map), run.load(sketch), art]],
            ["painting", "its map", "doodle", "doodle_2_art"], [],
            "MRF patches with semantic channels, from noise, coarse to fine")


@figure("style_losses", "Li et al. 2017, Risser et al. 2017, Heitz et al. 2021 (style losses)")
def style_losses_figure(run):
    """One photo, two paintings, one column per --style_loss at its default weight
    (`style_losses`), the seconds per iteration under each."""
    content = run.load(SAMPLES / "content" / "chelsea.jpg")
    rows, notes, names = [], [], ("starry_night", "great_wave")
    for painting in names:
        style = run.load(SAMPLES / "style" / f"{painting}.jpg")
        row, note = [content, style], [None, None]
        for loss in style_losses.STYLE_LOSSES:
            label = f"{painting}_{loss}"
            row.append(run.cell(label, gatys.style_transfer, content, style, style_loss=loss))
            seconds = run.reports[label]["seconds_per_iteration"]
            note.append(f"{seconds:.3g} s/it")
        rows.append(row)
        notes.append(note)
    return (rows, ["content", "style", *style_losses.STYLE_LOSSES], list(names),
            "the style loss, each at its default weight", notes)


@figure("cin_mix", "Dumoulin et al. 2017, Fig. 7 (interpolating between styles)",
        optimises=False)
def cin_mix(run):
    from style_transfer import cin  # TensorFlow's (`backend`): the other figures run on JAX.
    network = cin.StyleNetwork.load(_CIN_MODEL.value)
    if network.vgg_weights:  # What the caption names: the loss network of its training.
        run.weights = vgg.Weights(**network.vgg_weights)
    rows = network.interpolation_rows(run.load(SAMPLES / "content" / "chelsea.jpg"), 5)
    labels = [f"{t:.2f}" for t in np.linspace(0.0, 1.0, 5)]
    return rows, labels, [f"{s}->{s + 1}" for s in range(len(rows))], \
        f"the next style's weight; network {pathlib.Path(_CIN_MODEL.value).name}"


def main(argv):
    del argv  # Unused.
    names = list(FIGURES) if _FIGURE.value == ["all"] else _FIGURE.value
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise cli.ArgumentError("figure", f"{','.join(unknown)}: unknown; use all or any of "
                                          f"{', '.join(FIGURES)}")
    if "cin_mix" in _FIGURE.value and not _CIN_MODEL.value:  # Asked for by name.
        raise cli.ArgumentError("cin_model", "give a network trained by cin_train.py on two "
                                             "or more styles, for the cin_mix figure")
    files.make_folder(_OUTPUT_DIR.value, "output_dir", create=False)  # Made when written.
    for name in names:
        if name == "cin_mix" and not _CIN_MODEL.value:
            reporting.say("cin_mix: skipped, give --cin_model (a network trained with "
                          "scripts/cin_train.py on two or more styles)", _QUIET.value)
            continue
        recipe, paper, optimises = FIGURES[name]
        run = Run(name, optimises)
        cells, column_labels, row_labels, varies, *cell_labels = recipe(run)
        picture = grid.draw_grid(cells, title=f"{name}: {paper}", caption=run.caption(varies),
                                 column_labels=column_labels, row_labels=row_labels,
                                 cell_labels=cell_labels[0] if cell_labels else None)
        path = files.make_folder(_OUTPUT_DIR.value, "output_dir") / f"{name}.png"
        images.save(picture.astype(np.float32), path)
        files.write_json(path.with_suffix(".json"), {
            "figure": name, "paper": paper, "caption": run.caption(varies),
            "rows": len(cells), "columns": max(len(row) for row in cells),
            "column_labels": column_labels, "row_labels": row_labels,
            "weights": run.weights and run.weights.to_json()})
        reporting.say(f"{name}: wrote {path} ({picture.shape[1]}x{picture.shape[0]})",
                      _QUIET.value)
    return 0


if __name__ == "__main__":
    cli.run(main, __doc__, details=lambda: pathlib.Path(_OUTPUT_DIR.value) / "figures.json")
