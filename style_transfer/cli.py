"""The command line every technique shares: flags, errors, progress, run report.

Flags are defined once here and validated while they are parsed, before any image is
read or network built. Scripts read `.value` in `main` and pass plain values on; the rest
of the package never reads flags.

Known errors (bad flags, unreadable files, missing weights) end the run with one line on
stderr, `error: ...`, and exit code 2, with no traceback. Ctrl-C during the optimisation
saves the latest image and report, then exits 130.
"""

import dataclasses
import json
import os
import pathlib
import platform
import re
import resource
import sys
import time

from absl import app, flags

import style_transfer
from style_transfer import color, images, masks, patches, transfer, vgg

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _must(condition, message):
    if not condition:
        raise flags.ValidationError(message)
    return True


def _input_image_exists(path, flag):
    return _must(path is None or os.path.isfile(path),
                 f"--{flag}: {path}: no such file")


def _check(check, value, flag, **kwargs):
    """Runs a package check that raises ValueError, as a flag validator."""
    try:
        check(value, **kwargs)
    except ValueError as error:
        message = str(error)
        raise flags.ValidationError(
            message if message.startswith("--") else f"--{flag}: {message}") from None
    return True


def define_image(name, help_text):
    """A flag naming one input file, checked to exist while flags are parsed."""
    flag = flags.DEFINE_string(name, None, help_text)
    flags.register_validator(name, lambda path: _input_image_exists(path, name))
    return flag


def define_map_tolerance():
    """--map_tolerance, for the scripts that read colour-coded maps."""
    return flags.DEFINE_float(
        "map_tolerance", masks.DEFAULT_TOLERANCE, "Largest RGB distance (0-255 units) at "
        "which a pixel or a colour of the other map counts as a region's colour.",
        lower_bound=0.0)


def define_one_style():
    """--style takes one image: its map says where each style is."""
    flags.register_validator("style", lambda styles: styles is None or len(styles) == 1,
                             "--style: give one style image (its map says where each "
                             "style is)")


def define_patch_flags(default_loss, content_map_help):
    """The flags of the patch methods (patch_style, doodle_2_art); read them with
    `patch_settings`."""
    define_one_style()
    define_image("content_map", content_map_help)
    define_image("style_map", "Colour-coded map of the style image.")
    define_map_tolerance()
    flags.DEFINE_enum("patch_loss", default_loss, list(patches.PATCH_LOSSES),
                      "gram: Gram matrices of each region's sub-image; mrf: nearest-"
                      "neighbour patches (Li & Wand 2016) with semantic channels "
                      "(Champandard 2016).")
    flags.DEFINE_float("semantic_weight", patches.SEMANTIC_WEIGHT,
                       "ω: weight of the map channels in MRF matching, relative to a "
                       "typical feature vector's norm (Champandard 2016, Sec. 3).",
                       lower_bound=0.0)
    flags.DEFINE_integer("patch_size", patches.PATCH_SIZE, "k: MRF patch size in feature "
                         "positions (Li & Wand 2016: 3).", lower_bound=1)
    flags.DEFINE_integer("patch_stride", patches.PATCH_STRIDE, "d: step between MRF patches "
                         "on both images (CNNMRF's code: 2; 1 is 16x more matching work).",
                         lower_bound=1)


def patch_settings(with_content=True):
    """The patch flags (`define_patch_flags`) as `patches.PatchSettings`, and the shared
    ones as `transfer.GatysSettings` with the patch loss's own defaults.

    For mrf the defaults are Li & Wand's layers and β = 1, which gives CNNMRF's balance
    (content 2e1 on a mean, MRF 1e-4 on a sum) in our normalisation; for gram, Gatys'.
    Without content (doodles) there are no content layers.
    """
    settings = patches.PatchSettings(
        loss=flags.FLAGS.patch_loss, semantic_weight=flags.FLAGS.semantic_weight,
        size=flags.FLAGS.patch_size, stride=flags.FLAGS.patch_stride)
    mrf = settings.loss == "mrf"
    return settings, gatys_settings(content_layers=None if with_content else [],
                                    style_layers=patches.MRF_LAYERS if mrf else None,
                                    style_weight=1.0 if mrf else None)


def define_image_list(name, help_text, one_per_style=False):
    """A flag naming comma-separated input files, each checked to exist.

    With `one_per_style`, it must name as many files as --style does.
    """
    flag = flags.DEFINE_list(name, None, help_text)
    flags.register_validator(name, lambda paths: all(
        _input_image_exists(path, name) for path in paths or []))
    if one_per_style:
        flags.register_multi_flags_validator(
            [name, "style"], lambda values: values[name] is None or _must(
                len(values[name]) == len(values["style"] or []),
                f"--{name} has {len(values[name])} files but --style has "
                f"{len(values['style'] or [])} images; give one mask per style"))
    return flag


CONTENT = define_image("content", "Content image p (Gatys et al. 2016, Sec. 2).")
STYLE = define_image_list("style", "Style image(s) a, comma-separated.")
OUTPUT = flags.DEFINE_string("output", "output.png", "Where to write the result image.")
SIZE = flags.DEFINE_integer(
    "size", 512, "Longest side of the output in pixels (style images are scaled alike).",
    lower_bound=16)
ITERATIONS = flags.DEFINE_integer("iterations", 500, "L-BFGS iterations.", lower_bound=1)
CONTENT_WEIGHT = flags.DEFINE_float(
    "content_weight", 1.0, "α: content weight (Gatys et al. 2016, Eq. 7).", lower_bound=0.0)
STYLE_WEIGHT = flags.DEFINE_float(
    "style_weight", 1e3, "β: style weight (Gatys et al. 2016, Eq. 7); the paper reports "
    "α/β between 1e-3 and 1e-4.", lower_bound=0.0)
TV_WEIGHT = flags.DEFINE_float(
    "tv_weight", 1e-3, "Weight of the total variation prior (Mahendran & Vedaldi 2015, "
    "Eq. 5, β=2); 0 turns it off.", lower_bound=0.0)
CONTENT_LAYERS = flags.DEFINE_list(
    "content_layers", list(vgg.CONTENT_LAYERS), "Content layers (Gatys et al.: relu4_2).")
STYLE_LAYERS = flags.DEFINE_list(
    "style_layers", list(vgg.STYLE_LAYERS), "Style layers (Gatys et al.: relu1_1 … relu5_1).")
STYLE_LAYER_WEIGHTS = flags.DEFINE_list(
    "style_layer_weights", None, "w_l: one weight per style layer (Gatys et al. 2016, "
    "Eq. 5); default: equal weights 1/L.")
INIT = flags.DEFINE_string(
    "init", "content", "Starting image: content, noise (white noise, as Gatys et al.), "
    "style, or an image file.")
POOLING = flags.DEFINE_enum(
    "pooling", "avg", ["avg", "max"], "VGG19 pooling; Gatys et al. 2016 replace max "
    "pooling with average pooling.")
WEIGHTS = flags.DEFINE_string(
    "weights", "imagenet", "VGG19 weights: imagenet (vgg_weights/, the Keras cache, or a "
    "download), random (smoke runs only: its images say nothing about the method), or "
    "the path of a weights file.")
SEED = flags.DEFINE_integer("seed", 0, "Seed of --init noise and of --weights random.")
CHECKPOINT_EVERY = flags.DEFINE_integer(
    "checkpoint_every", 0, "Save the image every N iterations as OUTPUT_NNNN.ext; 0: never.",
    lower_bound=0)
PRINT_EVERY = flags.DEFINE_integer(
    "print_every", 10, "Print a progress line every N iterations.", lower_bound=1)
REPORT = flags.DEFINE_string(
    "report", None, "JSON run report; default: the output path with .json.")
QUIET = flags.DEFINE_bool("quiet", False, "Print nothing but errors.")

# Perceptual controls (Gatys et al. 2017, "Controlling Perceptual Factors in Neural Style
# Transfer", arXiv:1611.07865), and memory.
STYLE_BLEND_WEIGHTS = flags.DEFINE_list(
    "style_blend_weights", None, "b_s: one weight per --style image, normalised to sum "
    "1; default: equal.")
STYLE_SCALE = flags.DEFINE_float(
    "style_scale", 1.0, "Size of the style images relative to the output's: below 1 "
    "gives smaller style features, above 1 larger.", lower_bound=0.01)
PRESERVE_COLOR = flags.DEFINE_enum(
    "preserve_color", "none", list(color.PRESERVE_COLOR_MODES),
    "Keep the content's colours (Gatys et al. 2017, Sec. 5): luminance (transfer on "
    "luminance only, then the content's I, Q) or histogram (recolour the style to the "
    "content's colour mean and covariance first).")
HISTOGRAM_METHOD = flags.DEFINE_enum(
    "histogram_method", "eigen", list(color.HISTOGRAM_METHODS),
    "With --preserve_color histogram: eigen (A = Σc^½ Σs^-½, Image Analogies) or "
    "cholesky (A = Lc Ls⁻¹).")
SCALES = flags.DEFINE_list(
    "scales", None, "Coarse-to-fine sizes, e.g. 256,512,1024: each is optimised for "
    "--iterations, starting from the upsampled result of the one before (Gatys et al. "
    "2017, Sec. 6); the last is the output size (instead of --size).")
ESTIMATE = flags.DEFINE_bool(
    "estimate", False, "Print the predicted peak memory and seconds per iteration for "
    "the requested sizes, then exit without optimising.")
MAX_MEMORY_GB = flags.DEFINE_float(
    "max_memory_gb", None, "Refuse to start a run predicted to need more memory than "
    "this; default: the memory available now.", lower_bound=0.0)

flags.register_validator("output", lambda path: _check(images.check_writable, path, "output"))
flags.register_validator("report", lambda path: path is None or _must(
    path.endswith(".json"), f"--report {path}: give a file name ending in .json") and _check(
        images.check_writable, path, "report", formats=(".json",)))
flags.register_validator("init", lambda init: _must(
    init in ("content", "noise", "style") or os.path.isfile(init),
    f"--init {init}: use content, noise, style, or the path of an existing image"))
for _layer_flag in ("content_layers", "style_layers"):
    flags.register_validator(_layer_flag, lambda names, flag=_layer_flag: all(
        _check(vgg.canonical_layer_name, name, flag) for name in names) and _must(
            names, f"--{flag}: give at least one layer"))
flags.register_validator("weights", lambda weights: _must(
    weights in ("imagenet", "random") or os.path.isfile(weights),
    f"--weights {weights}: no such file; use imagenet, random, or a weights file path"))


def _numbers(values, flag):
    try:
        return [float(value) for value in values]
    except ValueError:
        raise flags.ValidationError(f"--{flag} {','.join(values)}: give numbers") from None


@flags.validator("scales")
def _scales_grow(scales):
    if scales is None:
        return True
    sizes = _numbers(scales, "scales")
    return _must(all(size == int(size) and size >= 16 for size in sizes) and sizes == sorted(
        sizes), f"--scales {','.join(scales)}: give increasing whole sizes of at least 16 px")


@flags.multi_flags_validator(["style", "style_blend_weights"])
def _blend_weights_match(values):
    weights, styles = values["style_blend_weights"], values["style"] or []
    if weights is None:
        return True
    numbers = _numbers(weights, "style_blend_weights")
    return _must(len(numbers) == len(styles) and min(numbers) >= 0 and sum(numbers) > 0,
                 f"--style_blend_weights has {len(numbers)} values but --style has "
                 f"{len(styles)} images; give one weight >= 0 per style, not all 0")


@flags.multi_flags_validator(["style_layers", "style_layer_weights"])
def _layer_weights_match(values):
    weights = values["style_layer_weights"]
    if weights is None:
        return True
    numbers = _numbers(weights, "style_layer_weights")
    return _must(len(numbers) == len(values["style_layers"]) and min(numbers) >= 0,
                 f"--style_layer_weights has {len(numbers)} values but --style_layers "
                 f"has {len(values['style_layers'])} layers; give one weight >= 0 per layer")


def style_layer_weights(layers, weights):
    """Layer -> w_l from the flags' values; equal weights 1/L when none are given."""
    layers = [vgg.canonical_layer_name(name) for name in layers]
    if not weights:
        return {layer: 1.0 / len(layers) for layer in layers}
    return dict(zip(layers, (float(w) for w in weights)))


def _flag_error_line(error):
    """absl's message for a bad flag, without its repeats: one line naming the flag."""
    text = " ".join(str(error).split())
    required = re.match(r"flag --(\w+)=None: Flag --\w+ must have a value other than None",
                        text)
    if required:
        return f"--{required.group(1)} is required"
    ours = re.match(r"flags? .*?: (--.*)", text)  # Our validators name the flag already.
    return ours.group(1) if ours else text.replace("flag --", "--", 1)


def gatys_settings(content_layers=None, style_layers=None, style_weight=None):
    """The shared flags of Eq. 7 as a `transfer.GatysSettings`.

    A script passes its method's own published defaults (e.g. the MRF layers) for the
    flags the user did not give; given flags always win.
    """
    def given_or(flag, default):
        return flag.value if default is None or flags.FLAGS[flag.name].present else default

    return transfer.GatysSettings(
        content_layers=[vgg.canonical_layer_name(name)
                        for name in given_or(CONTENT_LAYERS, content_layers)],
        style_layer_weights=style_layer_weights(given_or(STYLE_LAYERS, style_layers),
                                                STYLE_LAYER_WEIGHTS.value),
        content_weight=CONTENT_WEIGHT.value, style_weight=given_or(STYLE_WEIGHT, style_weight),
        tv_weight=TV_WEIGHT.value, iterations=ITERATIONS.value)


def load_images():
    """--content at --size and the --style images at --size x --style_scale."""
    content_image = images.load(CONTENT.value, max_size=SIZE.value)  # (H, W, 3)
    style_size = max(1, round(SIZE.value * STYLE_SCALE.value))
    return content_image, [images.load(path, max_size=style_size) for path in STYLE.value]


def feature_model(settings):
    """(weights, VGG19 feature model) as --weights, --seed and --pooling ask."""
    weights = vgg.resolve_weights(WEIGHTS.value, seed=SEED.value)
    model = vgg.feature_model(settings.content_layers + settings.style_layers,
                              pooling=POOLING.value, weights=weights)
    return weights, model


def initial_image(content_image, style_images):
    """The starting image --init asks for, at the content image's size."""
    return images.initial_image(INIT.value, content_image, style_images[0], seed=SEED.value)


def progress(stage=None, num_iterations=None):
    """The L-BFGS callback the flags ask for (progress lines, checkpoints)."""
    return iteration_callback(num_iterations=num_iterations or ITERATIONS.value,
                              print_every=PRINT_EVERY.value,
                              checkpoint_every=CHECKPOINT_EVERY.value, output=OUTPUT.value,
                              quiet=QUIET.value, stage=stage)


def optimize_and_finish(model, content_image, style_images, style_targets, settings,
                        weights, start_time, extra=None):
    """One optimisation at --size from --init, then `finish`: the single-stage scripts' end."""
    result = transfer.stylize(model, content_image, style_targets,
                              initial_image(content_image, style_images), settings, progress())
    stage = Stage.of(SIZE.value, content_image, style_images, result)
    return finish(result.image, [stage], weights, start_time, extra)


def patch_stages(model, settings, patch_settings, canvas_original, style_original,
                 with_content):
    """Patch style transfer at each of --size or --scales, coarse to fine, from --init,
    with --content_map, --style_map, --map_tolerance and --style_scale: see
    `coarse_to_fine_patches`, which takes them as arguments."""
    return coarse_to_fine_patches(
        model, settings, patch_settings, canvas_original, style_original,
        maps=(flags.FLAGS.content_map, flags.FLAGS.style_map),
        sizes=output_sizes(SIZE.value, SCALES.value), with_content=with_content,
        initial=lambda canvas, style_image: initial_image(canvas, [style_image]),
        style_scale=STYLE_SCALE.value, tolerance=flags.FLAGS.map_tolerance,
        map_names=("--content_map", "--style_map"), progress=progress)


def coarse_to_fine_patches(model, settings, patch_settings, canvas_original, style_original,
                           maps, sizes, with_content, initial, style_scale=1.0,
                           tolerance=masks.DEFAULT_TOLERANCE, map_names=("map", "style map"),
                           progress=None):
    """Patch style transfer at each size in turn, coarse to fine.

    At each size the maps are read afresh at the image sizes (nearest neighbour), their
    regions paired by colour (every colour of the canvas' map must be in the style's),
    and the optimisation starts from the coarser result, upsampled (as Champandard's
    phases), or at the first size from `initial`.

    Args:
        model: feature model covering the content and style layers.
        settings: `transfer.GatysSettings`; patch_settings: `patches.PatchSettings`.
        canvas_original: (H, W, 3) the content image, or the doodle itself: it fixes the
            output's shape.
        style_original: (H_s, W_s, 3).
        maps: paths of the canvas' and the style's colour-coded maps.
        sizes: longest sides, coarse to fine; the style is resized to size * style_scale.
        with_content: whether `canvas_original` is a content image to keep (else a
            doodle: no content term).
        initial: (canvas, style image) -> the first size's starting image.
        map_names: how errors name the two maps (the flags, in the scripts).
        progress: stage name or None -> L-BFGS callback; None for no progress lines.

    Returns:
        (stages, image, summary): `Stage`s, the final image, and the paired colours and
        style settings for the report.
    """
    stages, image = [], None
    for size in sizes:
        canvas = images.resize_longest_side(canvas_original, size)  # (H, W, 3)
        style_image = images.resize_longest_side(style_original, round(size * style_scale))
        content_map = masks.read_label_map(maps[0], *canvas.shape[:2], tolerance)
        style_map = masks.read_label_map(maps[1], *style_image.shape[:2], tolerance)
        pairs, summary = masks.pair_maps(content_map, style_map, tolerance, map_names,
                                         require_all=True)
        if image is None:
            say(f"regions: {masks.palette_text(content_map, [c for c, _ in pairs])}",
                QUIET.value)
            init_image = initial(canvas, style_image)
        else:  # Start from the coarser result, upsampled.
            init_image = images.resize(image, *canvas.shape[:2])
        result = transfer.stylize_by_patches(
            model, canvas if with_content else None, style_image, content_map, style_map,
            pairs, init_image, settings, patch_settings,
            None if progress is None else progress(f"{size}px" if len(sizes) > 1 else None))
        stages.append(Stage.of(size, canvas, [style_image], result))
        image = result.image
        if result.interrupted:
            break
    return stages, image, {**summary, "style_layers": settings.style_layers,
                           "style_weight": settings.style_weight}


def finish(image, stages, weights, start_time, extra=None):
    """Saves the image and the report (atomically), says so; returns the exit code."""
    images.save(image, OUTPUT.value)
    path = report_path(OUTPUT.value, REPORT.value)
    write_report(path, stages=stages, weights=weights, output=OUTPUT.value,
                 start_time=start_time, extra=extra)
    if not stages:
        say(f"wrote {OUTPUT.value} and {path}", QUIET.value)
        return 0
    result = stages[-1].result
    say(f"wrote {OUTPUT.value} and {path} ({result.stop_reason}; "
        f"{result.seconds_per_iteration:.3f} s/it)", QUIET.value)
    return EXIT_INTERRUPTED if result.interrupted else 0


def style_blend_weights(num_styles, weights):
    """b_s from the flag's values, normalised to sum 1; equal when none are given."""
    numbers = [float(w) for w in weights] if weights else [1.0] * num_styles
    return [w / sum(numbers) for w in numbers]


def output_sizes(size, scales):
    """The sizes to optimise at, coarse to fine: --scales, or just --size."""
    return [int(float(s)) for s in scales] if scales else [size]


def _parse_flags_or_exit(argv):
    """absl's parser, with one-line errors instead of its two-line FATAL message."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        print(f"error: {_flag_error_line(error)}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def run(main, required=()):
    """Runs `main(argv)` like `absl.app.run`, turning known errors into one line.

    Args:
        main: the script's main function; its return value is the exit code.
        required: flags the script cannot run without.
    """
    for name in required:
        flags.mark_flag_as_required(name)

    def guarded_main(argv):
        try:
            return main(argv)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED

    app.run(guarded_main, flags_parser=_parse_flags_or_exit)


def say(message, quiet):
    """Prints a progress or summary line unless --quiet."""
    if not quiet:
        print(message, flush=True)


def format_losses(losses):
    """'total 1.23e+09  content 4.5e+08 ...': every term, total first."""
    names = ["total"] + [name for name in losses if name != "total"]
    return "  ".join(f"{name} {losses[name]:.4g}" for name in names)


def checkpoint_path(output, iteration, stage=None):
    """out.png -> out_0042.png, or out_512px_0042.png for a stage named "512px"."""
    output = pathlib.Path(output)
    tag = f"_{stage}" if stage else ""
    return output.with_name(f"{output.stem}{tag}_{iteration:04d}{output.suffix}")


def iteration_callback(*, num_iterations, print_every, checkpoint_every, output, quiet,
                       stage=None):
    """The L-BFGS callback: a progress line every N iterations, checkpoints every M.

    Each line shows the iteration, every loss term and the seconds per iteration
    averaged since the previous line.
    """
    window = []

    def callback(step):
        if step.iteration > 0:
            window.append(step.seconds)
        if step.iteration == 0 or step.iteration % print_every == 0 or (
                step.iteration == num_iterations):
            speed = f"  {sum(window) / len(window):.3f} s/it" if window else ""
            say(f"iteration {step.iteration:>5}/{num_iterations}  "
                f"{format_losses(step.losses)}{speed}", quiet)
            window.clear()
        if checkpoint_every and step.iteration and step.iteration % checkpoint_every == 0:
            images.save(step.image, checkpoint_path(output, step.iteration, stage))

    return callback


def report_path(output, report):
    """The report's path: --report, or the output path with .json."""
    return report or str(pathlib.Path(output).with_suffix(".json"))


def _versions():
    import keras
    import numpy
    import PIL
    import scipy
    import tensorflow
    return {"style_transfer": style_transfer.__version__,
            "python": platform.python_version(), "tensorflow": tensorflow.__version__,
            "keras": keras.__version__, "keras_backend": keras.backend.backend(),
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "pillow": PIL.__version__}


def flag_values():
    """Every flag this module and the running script define, by name."""
    values = {}
    for module, module_flags in flags.FLAGS.flags_by_module_dict().items():
        if not module.startswith(("__main__", "style_transfer", "scripts")):
            continue  # absl's and TensorFlow's own flags.
        for flag in module_flags:
            values[flag.name] = flag.value
    return values


def peak_memory_mb():
    """Peak resident memory of this process in MiB (ru_maxrss: KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


@dataclasses.dataclass
class Stage:
    """One optimisation of a run (a run has several with coarse-to-fine --scales).

    Attributes:
        size: the requested longest side.
        content_shape: [H, W] of the image optimised.
        style_shapes: [H, W] of each style image.
        result: `optimize.Result`.
    """
    size: int
    content_shape: list
    style_shapes: list
    result: object

    @classmethod
    def of(cls, size, content_image, style_images, result):
        return cls(size, list(content_image.shape[:2]),
                   [list(style.shape[:2]) for style in style_images], result)

    def to_json(self):
        result = self.result
        return {"size": self.size, "content_shape": self.content_shape,
                "style_shapes": self.style_shapes, "iterations": result.num_iterations,
                "function_evaluations": result.num_evaluations,
                "stop_reason": result.stop_reason,
                "seconds_per_iteration": result.seconds_per_iteration,
                "seconds_per_evaluation": result.seconds_per_evaluation,
                "compile_seconds": result.compile_seconds,
                "final_losses": result.final_losses,
                "loss_history": [step.to_json() for step in result.history]}


def write_report(path, *, stages, weights, output, start_time, extra=None):
    """Writes the JSON run report atomically (enough to reproduce the run).

    Top-level figures describe the whole run (sums over stages; the final stage's image
    sizes and losses); "stages" has each stage's own figures and loss history. A run
    without optimisation (no stages, no weights) reports the rest.

    Args:
        path: the .json file.
        stages: list of `Stage`, coarse to fine (may be empty).
        weights: `vgg.Weights` actually used, or None.
        output: the image written.
        start_time: `time.time()` at the start of the run.
        extra: further method-specific fields.
    """
    report = {
        "command": [sys.executable] + sys.argv,
        "flags": flag_values(),
        "versions": _versions(),
        "weights": weights.to_json() if weights else None,
        "output": str(output),
    }
    if stages:
        results = [stage.result for stage in stages]
        num_iterations = sum(r.num_iterations for r in results)
        last = stages[-1]
        report.update({
            "image_sizes": {"content": last.content_shape, "style": last.style_shapes},
            "interrupted": any(r.interrupted for r in results),
            "stop_reason": last.result.stop_reason,
            "iterations": num_iterations,
            "function_evaluations": sum(r.num_evaluations for r in results),
            "seconds_per_iteration": sum(r.seconds_per_iteration * r.num_iterations
                                         for r in results) / max(num_iterations, 1),
            "seconds_per_evaluation": last.result.seconds_per_evaluation,
            "final_losses": last.result.final_losses,
            "loss_history": [step.to_json() for step in last.result.history],
            "stages": [stage.to_json() for stage in stages],
        })
    report.update({"wall_seconds": time.time() - start_time,
                   "peak_memory_mb": peak_memory_mb(), **(extra or {})})
    text = json.dumps(report, indent=1).encode()
    images.write_atomically(path, lambda f: f.write(text))
