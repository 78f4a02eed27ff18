"""The README's gallery: one labelled picture per technique, made by its own command.

Each entry of scripts/gallery.toml is one command line of the suite, on the repository's
own samples (samples/README.md: CC0 photos, public-domain paintings, maps drawn here).
The gallery runs each command as a user would (a subprocess, so the command shown is the
command run), then draws one panel: the inputs on the left, the output on the right, and
under them the technique, the network and its weights, and the exact command. Panels are
JPEGs of at most `MAX_BYTES`, in --output_dir (docs/gallery/ for the README); the
commands' own outputs and run reports go to --work_dir.

Real pictures need real weights (--weights imagenet finds them as every command does:
vgg_weights/, Keras' cache, a verified download). With --weights random the panels say
that they show nothing about the methods.

Example (the README's gallery; about 3 minutes on a GPU, an hour or more on 2 CPU cores):
    python scripts/gallery.py --network vgg16 --size 512
"""

import concurrent.futures
import json
import pathlib
import shlex
import subprocess
import sys
import tomllib

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from absl import flags  # noqa: E402

from style_transfer import cli  # noqa: E402  (first: quiets the backend)
from style_transfer import files, grid, images, reporting, vgg  # noqa: E402


ROOT = pathlib.Path(__file__).resolve().parents[1]
MAX_BYTES = 150_000  # Each panel, as a JPEG: a README page stays light.
OUTPUT_HEIGHT = 512  # The output's height in the panel; inputs share a column beside it.
ENTRIES_FILE = ROOT / "scripts" / "gallery.toml"


# The gallery's entries, in its order: each a dict of the file's name, paper, arguments
# (flags and values, paths relative to the repository) and inputs ((label, path) pairs).
ENTRIES = tomllib.loads(ENTRIES_FILE.read_text())["entry"]
NAMES = [entry["name"] for entry in ENTRIES]

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
    arguments = [argument.format(work=work_dir) for argument in entry["arguments"]]
    if entry["name"] != "masked_transfer":  # Compositing has no network and no optimiser.
        arguments += ["--network", _NETWORK.value, "--size", str(_SIZE.value)]
        if _ITERATIONS.value:
            arguments += ["--iterations", str(_ITERATIONS.value)]
        if _WEIGHTS.value != "imagenet":
            arguments += ["--weights", _WEIGHTS.value]
    return [entry["name"]] + arguments + ["--output", f"{work_dir}/{entry['name']}.png"]


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


def main(argv):
    del argv
    unknown = sorted(set(_ONLY.value) - set(NAMES))
    if unknown:
        raise cli.ArgumentError("only", f"{','.join(unknown)}: unknown; use any of "
                                        f"{','.join(NAMES)}")
    entries = [entry for entry in ENTRIES if entry["name"] in _ONLY.value]
    network = vgg.get_network(_NETWORK.value)
    weights_label = (f"{network.title}, random weights: this shows nothing about the method"
                     if _WEIGHTS.value == "random" else f"{network.title} ({_WEIGHTS.value})")
    output_dir, work_dir, summary = ROOT / _OUTPUT_DIR.value, ROOT / _WORK_DIR.value, []
    work_dir.mkdir(parents=True, exist_ok=True)
    lines = {entry["name"]: command(entry, _WORK_DIR.value) for entry in entries}
    # masked_transfer composites style_transfer's output: it runs after the others.
    for batch in ([n for n in lines if n != "masked_transfer"],
                  [n for n in lines if n == "masked_transfer"]):
        with concurrent.futures.ThreadPoolExecutor(_JOBS.value) as pool:
            list(pool.map(lambda n: run_command(lines[n], work_dir / f"{n}.log"),
                          [] if _DRAW_ONLY.value else batch))
    for entry in entries:
        name = entry["name"]
        line = lines[name]
        if not (work_dir / f"{name}.png").is_file():
            raise cli.ArgumentError("work_dir", f"{work_dir / name}.png is missing: "
                                                f"run {name} first (no --draw_only)")
        inputs = [(label, images.load(ROOT / path.format(work=_WORK_DIR.value)))
                  for label, path in entry["inputs"]]
        picture = grid.draw_panel(
            images.load(work_dir / f"{name}.png"), inputs, output_height=OUTPUT_HEIGHT,
            title=f"{name}: {entry['paper']}  ·  {weights_label}", command=shlex.join(line))
        size, quality = grid.save_jpeg(picture, output_dir / f"{name}.jpg", MAX_BYTES)
        report = json.loads((work_dir / f"{name}.json").read_text())
        seconds = report.get("wall_seconds", 0.0)
        summary.append({"name": name, "command": shlex.join(line),
                        "seconds": round(seconds, 1),
                        "keras_backend": report.get("versions", {}).get("keras_backend"),
                        "jpeg_bytes": size, "jpeg_quality": quality})
        reporting.say(f"{name}: {seconds:.0f} s, {output_dir / name}.jpg "
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
