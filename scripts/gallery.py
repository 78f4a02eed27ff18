"""The README's gallery: one labelled picture per technique, made by its own command.

Each entry below is one command line of the suite, on the repository's own samples
(samples/README.md: CC0 photos, public-domain paintings, maps drawn here). The gallery
runs each command as a user would (a subprocess, so the command shown is the command
run), then draws one panel: the inputs on the left, the output on the right, and under
them the technique, the network and its weights, and the exact command. Panels are
JPEGs of at most `MAX_BYTES`, in --output_dir (docs/gallery/ for the README); the
commands' own outputs and run reports go to --work_dir.

Real pictures need real weights (--weights imagenet finds them as every command does:
vgg_weights/, Keras' cache, a verified download). With --weights random the panels say
that they show nothing about the methods.

Example (the README's gallery; about 3 minutes on a GPU, an hour or more on 2 CPU cores):
    python scripts/gallery.py --network vgg16 --size 512
"""

import concurrent.futures
import dataclasses
import json
import pathlib
import shlex
import subprocess
import sys

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets TensorFlow)
from style_transfer import files, grid, images, reporting, vgg  # noqa: E402


ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_BYTES = 150_000  # Each panel, as a JPEG: a README page stays light.
OUTPUT_HEIGHT = 512  # The output's height in the panel; inputs share a column beside it.


@dataclasses.dataclass(frozen=True)
class Entry:
    """One gallery picture: a command of the suite and the inputs to show beside it."""
    name: str  # The command (a console script), and the panel's file name.
    paper: str
    arguments: tuple  # Flags and values, paths relative to the repository.
    inputs: tuple  # (label, path) pairs shown left of the output.


C, S, M, D = "samples/content/", "samples/style/", "samples/masks/", "samples/doodle/"
# region_style's and patch_style's inputs: the cat's face pairs with the swirls' cores.
CAT_AND_SWIRLS = (
    ("--content", C + "chelsea.jpg", "--content_map", M + "chelsea_map.png",
     "--style", S + "swirls.jpg", "--style_map", M + "swirls_map.png"),
    (("content", C + "chelsea.jpg"), ("content map", M + "chelsea_map.png"),
     ("style", S + "swirls.jpg"), ("style map", M + "swirls_map.png")))
ENTRIES = (
    Entry("style_transfer", "Gatys, Ecker & Bethge 2016",
          ("--content", C + "astronaut.jpg", "--style", S + "starry_night.jpg"),
          (("content", C + "astronaut.jpg"), ("style", S + "starry_night.jpg"))),
    Entry("masked_transfer", "Gatys et al. 2017, Sec. 5 (compositing)",
          ("--content", C + "astronaut.jpg", "--stylized", "{work}/style_transfer.png",
           "--mask", M + "fade_right.png", "--match_color", "content"),
          (("content", C + "astronaut.jpg"), ("stylized", "{work}/style_transfer.png"),
           ("mask", M + "fade_right.png"))),
    Entry("multi_style", "Gatys et al. 2017, Sec. 4",
          ("--content", C + "chelsea.jpg",
           "--style", f"{S}starry_night.jpg,{S}great_wave.jpg",
           "--style_masks", f"{M}chelsea_left.png,{M}chelsea_right.png"),
          (("content", C + "chelsea.jpg"), ("style, left", S + "starry_night.jpg"),
           ("style, right", S + "great_wave.jpg"))),
    Entry("mask_style", "Gatys et al. 2017, Sec. 4 (soft masks)",
          ("--content", C + "chelsea.jpg",
           "--style", f"{S}starry_night.jpg,{S}the_scream.jpg",
           "--style_masks", f"{M}fade_left.png,{M}fade_right.png"),
          (("content", C + "chelsea.jpg"), ("style, fading out", S + "starry_night.jpg"),
           ("style, fading in", S + "the_scream.jpg"))),
    Entry("region_style", "Gatys et al. 2017, Sec. 4 (colour-coded maps)", *CAT_AND_SWIRLS),
    Entry("patch_style", "Li & Wand 2016; Champandard 2016", *CAT_AND_SWIRLS),
    Entry("doodle_2_art", "Champandard 2016",
          ("--content_map", D + "monet_doodle.png", "--style", D + "monet.jpg",
           "--style_map", D + "monet_map.png"),
          (("doodle", D + "monet_doodle.png"), ("painting", D + "monet.jpg"),
           ("its map", D + "monet_map.png"))),
    Entry("photo_style", "Luan et al. 2017",
          ("--content", C + "coffee.jpg", "--style", C + "chelsea.jpg"),
          (("content", C + "coffee.jpg"), ("style photo", C + "chelsea.jpg"))),
)
NAMES = [entry.name for entry in ENTRIES]

_ONLY = cli.text_list("only", NAMES, "Entries to make (technique names).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", "docs/gallery", "Where the panels go.")
_WORK_DIR = flags.DEFINE_string("work_dir", "outputs/gallery",
                                "Where the commands' outputs and reports go.")
_SIZE = cli.number("size", 512, "Output size (--size of every command).", integer=True,
                   low=16, high=4096)
_ITERATIONS = cli.number("iterations", 0, "L-BFGS iterations of every command; 0: each "
                         "technique's default.", integer=True, low=0, high=10 ** 6)
_NETWORK = flags.DEFINE_enum("network", "vgg19", list(vgg.NETWORKS), "The feature network.")
_WEIGHTS = flags.DEFINE_string("weights", "imagenet", "Network weights: imagenet, random "
                               "(plumbing only), or a weights file.")
_JOBS = cli.number("jobs", 1, "Commands run side by side (a GPU with room for several: "
                   "each compiles its own programs on the CPU).", integer=True, low=1, high=64)
_DRAW_ONLY = flags.DEFINE_bool("draw_only", False, "Run nothing: draw the panels from the "
                                "outputs already in --work_dir (made by the same commands, "
                                "e.g. on a GPU machine).")
_QUIET = cli.quiet_flag()
cli.group("method", "only", "size", "iterations", "network", "weights", "jobs", "draw_only")
cli.group("output", "output_dir", "work_dir")


def command(entry, work_dir):
    """The entry's command line as a user types it (paths relative to the repository)."""
    arguments = [argument.format(work=work_dir) for argument in entry.arguments]
    if entry.name != "masked_transfer":  # Compositing has no network and no optimiser.
        arguments += ["--network", _NETWORK.value, "--size", str(_SIZE.value)]
        if _ITERATIONS.value:
            arguments += ["--iterations", str(_ITERATIONS.value)]
        if _WEIGHTS.value != "imagenet":
            arguments += ["--weights", _WEIGHTS.value]
    return [entry.name] + arguments + ["--output", f"{work_dir}/{entry.name}.png"]


def run_command(line, log):
    """Runs one command of the suite from this checkout (its script, as its console
    script would). Its output goes to `log`."""
    script = ROOT / "scripts" / f"{line[0]}.py"
    quiet = [] if line[0] == "masked_transfer" else ["--print_every", "100"]
    done = subprocess.run([sys.executable, str(script)] + line[1:] + quiet,
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    log.write_text(done.stdout)
    if done.returncode:
        tail = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
        raise ValueError(f"{shlex.join(line)} failed ({tail[0]}); its output: {log}")


def panel(entry, line, weights_label, work_dir):
    """The entry's labelled picture (`grid.draw_panel`)."""
    return grid.draw_panel(
        images.load(ROOT / work_dir / f"{entry.name}.png"),
        [(label, images.load(ROOT / path.format(work=work_dir)))
         for label, path in entry.inputs],
        title=f"{entry.name}: {entry.paper}  ·  {weights_label}", command=shlex.join(line),
        output_height=OUTPUT_HEIGHT)


def main(argv):
    del argv
    unknown = sorted(set(_ONLY.value) - set(NAMES))
    if unknown:
        raise cli.ArgumentError("only", f"{','.join(unknown)}: unknown; use any of "
                                        f"{','.join(NAMES)}")
    entries = [entry for entry in ENTRIES if entry.name in _ONLY.value]
    network = vgg.get_network(_NETWORK.value)
    weights_label = (f"{network.title}, random weights: this shows nothing about the method"
                     if _WEIGHTS.value == "random" else f"{network.title} ({_WEIGHTS.value})")
    output_dir, work_dir, summary = ROOT / _OUTPUT_DIR.value, ROOT / _WORK_DIR.value, []
    work_dir.mkdir(parents=True, exist_ok=True)
    lines = {entry.name: command(entry, _WORK_DIR.value) for entry in entries}

    def run_entry(entry):
        run_command(lines[entry.name], work_dir / f"{entry.name}.log")

    # masked_transfer composites style_transfer's output: it runs after the others.
    for batch in ([e for e in entries if e.name != "masked_transfer"],
                  [e for e in entries if e.name == "masked_transfer"]):
        with concurrent.futures.ThreadPoolExecutor(_JOBS.value) as pool:
            list(pool.map(run_entry, [] if _DRAW_ONLY.value else batch))
    for entry in entries:
        line = lines[entry.name]
        if not (work_dir / f"{entry.name}.png").is_file():
            raise cli.ArgumentError("work_dir", f"{work_dir / entry.name}.png is missing: "
                                                f"run {entry.name} first (no --draw_only)")
        size, quality = grid.save_jpeg(panel(entry, line, weights_label, _WORK_DIR.value),
                                       output_dir / f"{entry.name}.jpg", MAX_BYTES)
        report = json.loads((work_dir / f"{entry.name}.json").read_text())
        seconds = report.get("wall_seconds", 0.0)
        summary.append({"name": entry.name, "command": shlex.join(line),
                        "seconds": round(seconds, 1),
                        "keras_backend": report.get("versions", {}).get("keras_backend"),
                        "jpeg_bytes": size, "jpeg_quality": quality})
        reporting.say(f"{entry.name}: {seconds:.0f} s, {output_dir / entry.name}.jpg "
                      f"({size // 1000} KB)", _QUIET.value)
    # Entries made before (another --only) stay, in the gallery's order.
    index = output_dir / "gallery.json"
    kept = json.loads(index.read_text())["entries"] if index.is_file() else []
    made = {entry["name"]: entry for entry in kept + summary}
    report = {"network": network.name, "weights": _WEIGHTS.value, "size": _SIZE.value,
              "entries": [made[name] for name in NAMES if name in made]}
    with files.atomic_path(index) as temporary:
        temporary.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    cli.run(main, __doc__)
