"""`make hostile`: every command against a long list of hostile inputs, run as a user runs
them (a subprocess each), judged by the promise of the README's "Bad input" section.

Usage: python tests/hostile.py [WORDS...]   (only the cases whose names contain a word)

Each case runs in a fresh copy of a folder of good and bad inputs, where out.png and
out.json already hold an earlier result. A case is one of:
  bad     the run must end with exit 2 and one line on stderr, no traceback, out.png and
          out.json untouched and no new file but an internal error's details;
  either  a legitimate if odd input: exit 0, or exit 2 with one line (never a crash).
It prints one line per case and the ones that broke the promise, and exits 1 if any did.
Not part of `make test` (about 15 minutes on 2 cores); tests/test_cli.py holds the fast,
registry-driven checks.
"""

import concurrent.futures
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EARLIER = b"an earlier result"
BUSY_PORT = 38765  # Held open by this script while the cases run.


def png_header(width, height):
    """A PNG that claims width x height and holds no pixels: a decompression bomb's shape."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def make_inputs(folder):
    """Good inputs (photos, masks, maps, two trained networks) and hostile ones."""
    from style_transfer import cli  # noqa: F401  (first: quiets TensorFlow)
    from style_transfer import cin, cin_network
    rng = np.random.default_rng(1)

    def save(array, name, mode=None):
        Image.fromarray(array, mode).save(folder / name)

    def noise(height, width):
        return rng.integers(0, 255, (height, width, 3), dtype=np.uint8)

    def two_regions(height, width):
        colours = np.zeros((height, width, 3), np.uint8)
        colours[:, :width // 2], colours[:, width // 2:] = (255, 0, 0), (0, 0, 255)
        return colours
    save(noise(40, 48), "c.png"), save(noise(36, 36), "s.png"), save(noise(30, 44), "s2.png")
    save(noise(40, 48), "c.jpg"), save(noise(1, 3000), "thin.png"), save(noise(3, 3), "tiny.png")
    save(noise(1, 1), "one.png"), save(noise(40, 48), "map_noise.png")
    save(two_regions(40, 48), "map_c.png"), save(two_regions(36, 36), "map_s.png")
    save(two_regions(20, 20), "map_small.png")
    save(np.full((36, 36, 3), (0, 255, 0), np.uint8), "map_green.png")  # No shared colour.
    mask = np.zeros((40, 48), np.uint8)
    mask[:, :24] = 255
    save(mask, "mask.png"), save(255 - mask, "mask2.png"), save(mask * 0, "black_mask.png")
    save((rng.random((40, 48)) * 65535).astype(np.uint16), "g16.png")
    Image.new("CMYK", (40, 48), (10, 20, 30, 40)).save(folder / "cmyk.jpg")
    save(rng.integers(-2 ** 31, 2 ** 31 - 1, (40, 48), dtype=np.int32), "i32.tif", "I")
    floats = rng.random((40, 48)).astype(np.float32)
    save(floats * 1e6, "bigfloat.tif", "F")
    floats[3, 4] = np.nan
    save(floats, "nan.tif", "F")
    palette = Image.fromarray(noise(40, 48)).convert("P")
    palette.info["transparency"] = 0
    palette.save(folder / "pal.png")
    frames = [Image.fromarray(noise(40, 48)) for _ in range(3)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    (folder / "photos").mkdir()
    for k in range(3):
        save(noise(40, 40), f"photos/p{k}.png")
    (folder / "emptydir").mkdir()
    (folder / "dir.png").mkdir()
    os.symlink("loop.png", folder / "loop.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "trunc.png").write_bytes((folder / "c.png").read_bytes()[:300])
    (folder / "text.png").write_text("hello, not an image\n")
    (folder / "text.jpg").write_text("hello")
    (folder / "notes.txt").write_text("x")
    (folder / "pic.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="9"/>')
    (folder / "bomb.png").write_bytes(png_header(60000, 60000))
    (folder / "wide_bomb.png").write_bytes(png_header(2 ** 31 - 1, 1))
    (folder / "garbage.h5").write_bytes(rng.bytes(4096))
    (folder / "garbage.keras").write_bytes(rng.bytes(4096))
    with zipfile.ZipFile(folder / "wrong.keras", "w") as archive:
        archive.writestr("config.json", '{"class_name": "Nope"}')
    for name, styles in (("model.keras", 2), ("model1.keras", 1)):
        cin.StyleNetwork(cin_network.transformer_network(styles, base_filters=4,
                                                 num_residual_blocks=1)).save(folder / name)


R = ["--weights", "random"]
Q = ["--size", "32", "--iterations", "2", "--print_every", "1"]
MAPS = ["--content_map", "map_c.png", "--style", "s.png", "--style_map", "map_s.png"]
TWO = ["--style", "s.png,s2.png", "--style_masks", "mask.png,mask2.png"]
BASE = {  # A good run of each command, which each case spoils.
    "style_transfer": ["--content", "c.png", "--style", "s.png", *R, *Q],
    "multi_style": ["--content", "c.png", *TWO, *R, *Q],
    "mask_style": ["--content", "c.png", *TWO, *R, *Q],
    "region_style": ["--content", "c.png", *MAPS, *R, *Q],
    "patch_style": ["--content", "c.png", *MAPS, *R, *Q],
    "doodle_2_art": [*MAPS, *R, *Q],
    "photo_style": ["--content", "c.png", "--style", "s.png", "--content_seg", "map_c.png",
                    "--style_seg", "map_s.png", *R, *Q],
    "masked_transfer": ["--content", "c.png", "--mask", "mask.png", "--stylized", "s.png"],
    "cin_train": ["--style", "s.png,s2.png", "--content_dir", "photos", "--checkpoint_dir",
                  "ck", "--steps", "1", "--image_size", "32", "--batch_size", "1", *R,
                  "--network_width", "4"],
    "cin_stylize": ["--model", "model.keras", "--content", "c.png"],
    "cin_serve": ["--model", "model.keras", "--port", "0"],
    "figures": ["--figure", "alpha_beta", "--size", "32", "--iterations", "1", *R,
                "--output_dir", "figs"],
}
WRITES_OUTPUT = {"style_transfer", "multi_style", "mask_style", "region_style",
                 "patch_style", "doodle_2_art", "photo_style", "masked_transfer",
                 "cin_stylize"}
CASES = []  # (name, script, args, kind, extra environment)


def case(kind, name, script, env=None, **changes):
    """The script's good run with flags changed (None drops one, True is a bare flag)."""
    args, words = [], list(BASE[script]) + (["--output", "out.png"] if script in
                                            WRITES_OUTPUT else [])
    while words:
        flag = words.pop(0)
        value = words.pop(0) if words and not words[0].startswith("--") else True
        change = changes.pop(flag[2:], value)
        if change is not None:
            args += [flag] + ([] if change is True else [change])
    for flag, change in changes.items():
        args += [f"--{flag}"] + ([] if change is True else [change])
    CASES.append((name, script, args, kind, env or {}))


def bad(name, script, env=None, **changes):
    case("bad", name, script, env, **changes)


def either(name, script, env=None, **changes):
    case("either", name, script, env, **changes)


def raw(name, script, args, kind="bad"):
    CASES.append((name, script, args, kind, {}))


ST, T, S, V, F = "style_transfer", "cin_train", "cin_stylize", "cin_serve", "figures"
for name in ["empty.png", "trunc.png", "text.png", "text.jpg", "nan.tif", "bomb.png",
             "wide_bomb.png", "pic.svg", "dir.png", "loop.png", "missing.png", "notes.txt",
             "emptydir", "/dev/null", "/dev/zero", ""]:
    bad(f"content {name!r}", ST, content=name)
for name in ["empty.png", "trunc.png", "bomb.png", "dir.png", "missing.png",
             "s.png,missing.png", "s.png, "]:
    bad(f"style {name!r}", ST, style=name)
for name in ["cmyk.jpg", "i32.tif", "bigfloat.tif", "one.png", "thin.png", "tiny.png",
             "anim.gif", "g16.png", "pal.png"]:
    either(f"content {name}", ST, content=name)
    either(f"style {name}", ST, style=name)
for output in ["nodir/out.png", "emptydir", "out.xyz", "out", "/proc/out.png", "",
               "x" * 300 + ".png", "c.png/out.png", "out.json"]:
    bad(f"output {output[:20]!r}", ST, output=output)
for report in ["emptydir", "r.txt", "nodir/r.json", "out.png", "c.png/r.json"]:
    bad(f"report {report!r}", ST, report=report)
either("output unicode", ST, output="résultat ü.png")
either("output over the content", ST, output="c.png")
for flag, value in [
        ("size", "0"), ("size", "-5"), ("size", "abc"), ("size", "1e9"), ("size", "3.5"),
        ("iterations", "0"), ("iterations", "1.5"), ("content_weight", "-1"),
        ("style_weight", "1e400"), ("style_weight", "0x10"), ("tv_weight", "-0.1"),
        ("style_scale", "0"), ("style_scale", "1e6"), ("style_scale", "1e-6"), ("seed", "-1"),
        ("seed", "99999999999999999999"), ("print_every", "0"), ("checkpoint_every", "-3"),
        ("max_memory_gb", "0"), ("max_memory_gb", "nan"), ("max_memory_gb", "0.001"),
        ("content_layers", "relu9_9"), ("content_layers", ""), ("style_layers", "relu1_1,x"),
        ("style_layers", "relu1_1,conv1_1"), ("style_layer_weights", "1,2"),
        ("style_layer_weights", "1,2,3,4,-5"), ("style_layer_weights", "a,b,c,d,e"),
        ("style_blend_weights", "1,2"), ("style_blend_weights", "-1"),
        ("style_blend_weights", "0"), ("scales", "64,32"), ("scales", "32,abc"),
        ("scales", "16,0"), ("scales", "8,32"), ("init", "missing.png"), ("init", "trunc.png"),
        ("init", "bogus"), ("init", "dir.png"), ("pooling", "min"), ("optimizer", "adam"),
        ("preserve_color", "yes"), ("histogram_method", "lu"), ("weights", "missing.h5"),
        ("weights", "garbage.h5"), ("weights", "notes.txt"), ("weights", "bogus"),
        ("weights", "emptydir"), ("colour", "red")]:
    bad(f"{flag}={value}", ST, **{flag: value})
bad("size too large for memory", ST, size="16384", max_memory_gb="1")
bad("bare flag then a word", ST, bounds="maybe")
bad("estimate of a truncated content", ST, content="trunc.png", estimate=True)
bad("imagenet weights absent offline", ST, {"KERAS_HOME": "/nonexistent/keras"},
    weights="imagenet")
bad("imagenet weights, Keras home a file", ST, {"KERAS_HOME": "c.png"}, weights="imagenet")
raw("a stray file name", ST, BASE[ST] + ["--output", "out.png", "extra.png"])
raw("no flags at all", ST, [])
raw("the last of two values is bad", ST, BASE[ST] + ["--output", "out.png", "--size", "nan"])
either("estimate", ST, estimate=True)
either("scales above the size", ST, scales="64,128")
either("pooling layers as style layers", ST, style_layers="relu1_1,pool1")
for script in ("multi_style", "mask_style"):
    bad(f"{script}: one mask for two styles", script, style_masks="mask.png")
    bad(f"{script}: a missing mask", script, style_masks="mask.png,missing.png")
    bad(f"{script}: a truncated mask", script, style_masks="mask.png,trunc.png")
    bad(f"{script}: a bomb mask", script, style_masks="mask.png,bomb.png")
    bad(f"{script}: one blend weight", script, style_blend_weights="1")
    either(f"{script}: a black mask", script, style_masks="mask.png,black_mask.png")
    either(f"{script}: a mask of another size", script, style_masks="mask.png,map_small.png")
M = "masked_transfer"
for name, changes in [("missing mask", dict(mask="missing.png")),
                      ("text mask", dict(mask="text.png")),
                      ("three stylised", dict(stylized="s.png,s2.png,s.png")),
                      ("bomb stylised", dict(stylized="bomb.png")),
                      ("feather -1", dict(feather_radius="-1")),
                      ("feather 1e9", dict(feather_radius="1e9")),
                      ("match_color style", dict(match_color="style")),
                      ("a progress flag it has not", dict(print_every="5"))]:
    bad(f"masked_transfer: {name}", M, **changes)
either("masked_transfer: stylised of another size", M, stylized="thin.png")
either("masked_transfer: black mask", M, mask="black_mask.png")
either("masked_transfer: report in a missing folder (made)", M, report="nodir/x.json")
for script in ("region_style", "patch_style", "doodle_2_art", "photo_style"):
    content_map, style_map = (("content_seg", "style_seg") if script == "photo_style" else
                              ("content_map", "style_map"))
    either(f"{script}: maps with no colour in common", script, **{style_map: "map_green.png"})
    either(f"{script}: a map of another size", script, **{content_map: "map_small.png"})
    either(f"{script}: a map of noise", script, **{content_map: "map_noise.png"})
    bad(f"{script}: a truncated map", script, **{content_map: "trunc.png"})
    bad(f"{script}: a missing map", script, **{style_map: "missing.png"})
    bad(f"{script}: map_tolerance -1", script, map_tolerance="-1")
P = "patch_style"
bad("patch_style: patch_size 0", P, patch_size="0")
bad("patch_style: patch_size 1000", P, patch_size="1000", patch_loss="mrf")
bad("patch_style: stride 0", P, patch_stride="0", patch_loss="mrf")
bad("patch_style: patch_loss l2", P, patch_loss="l2")
bad("patch_style: semantic_weight -1", P, semantic_weight="-1", patch_loss="mrf")
either("patch_style: mrf at 16 px", P, patch_loss="mrf", size="16")
either("doodle_2_art: gram", "doodle_2_art", patch_loss="gram")
either("doodle_2_art: with a content", "doodle_2_art", content="c.png")
bad("doodle_2_art: a truncated content", "doodle_2_art", content="trunc.png")
bad("photo_style: matting_epsilon 0", "photo_style", matting_epsilon="0")
bad("photo_style: smooth_radius 0", "photo_style", smooth=True, smooth_radius="0")
bad("photo_style: one segmentation", "photo_style", style_seg=None)
either("photo_style: no segmentations", "photo_style", content_seg=None, style_seg=None)
for name, changes, env in [
        ("missing folder", dict(content_dir="nope"), None),
        ("a file as the folder", dict(content_dir="c.png"), None),
        ("empty folder", dict(content_dir="emptydir"), None),
        ("a truncated style", dict(style="s.png,trunc.png"), None),
        ("a bomb style", dict(style="s.png,bomb.png"), None),
        ("a folder as a style", dict(style="dir.png"), None),
        ("image_size 30", dict(image_size="30"), None),
        ("image_size 0", dict(image_size="0"), None), ("batch 0", dict(batch_size="0"), None),
        ("learning rate 0", dict(learning_rate="0"), None),
        ("learning rate nan", dict(learning_rate="nan"), None),
        ("strategy tpu", dict(strategy="tpu"), None),
        ("network_width 0", dict(network_width="0"), None),
        ("a file as the checkpoint folder", dict(checkpoint_dir="c.png"), None),
        ("a folder as the report", dict(report="emptydir"), None),
        ("multi_worker without TF_CONFIG", dict(strategy="multi_worker"), None),
        ("TF_CONFIG not JSON", dict(strategy="multi_worker"), {"TF_CONFIG": "{not json"}),
        ("TF_CONFIG without a task", dict(strategy="multi_worker"),
         {"TF_CONFIG": '{"cluster": {"worker": ["localhost:1"]}}'})]:
    bad(f"cin_train: {name}", T, env, **changes)
either("cin_train: crops larger than the photos", T, image_size="64")
either("cin_train: one style", T, style="s.png")
FOLDER = dict(content=None, content_dir="photos", output_dir="res")
for name, changes in [
        ("missing model", dict(model="missing.keras")),
        ("garbage model", dict(model="garbage.keras")),
        ("a zip that is no model", dict(model="wrong.keras")),
        ("a PNG as the model", dict(model="c.png")),
        ("style_index 5", dict(style_index="5")), ("style_index -1", dict(style_index="-1")),
        ("mix of a style it lacks", dict(style_mix="0:0.5,7:0.5")),
        ("mix written 0=1", dict(style_mix="0=1")), ("negative mix", dict(style_mix="0:-1,1:2")),
        ("mix of zeros", dict(style_mix="0:0,1:0")), ("mix with nan", dict(style_mix="0:nan,1:1")),
        ("empty mix", dict(style_mix="")), ("truncated photo", dict(content="trunc.png")),
        ("bomb photo", dict(content="bomb.png")), ("photo and folder", dict(content_dir="photos")),
        ("folder without output_dir", dict(content=None, content_dir="photos")),
        ("shard 3/2", dict(FOLDER, shard="3/2")), ("shard a/b", dict(FOLDER, shard="a/b")),
        ("shard 0/0", dict(FOLDER, shard="0/0")), ("batch 0", dict(FOLDER, batch_size="0")),
        ("empty folder", dict(FOLDER, content_dir="emptydir")),
        ("missing folder", dict(FOLDER, content_dir="nope")),
        ("glob matching nothing", dict(FOLDER, content_dir="photos/*.jpg")),
        ("a file as the output folder", dict(FOLDER, output_dir="c.png")),
        ("folder and grid", dict(FOLDER, interpolation_grid="g.png")),
        ("size 0", dict(size="0")), ("size 3", dict(size="3")),
        ("grid_steps 1", dict(interpolation_grid="grid.png", grid_steps="1")),
        ("grid of unknown type", dict(interpolation_grid="grid.xyz")),
        ("grid in a missing folder", dict(interpolation_grid="nodir/grid.png")),
        ("grid of one style", dict(interpolation_grid="grid.png", model="model1.keras")),
        ("precision fp8", dict(precision="fp8")), ("report r.txt", dict(report="r.txt")),
        ("no photo", dict(content=None)),
        ("a progress flag it has not", dict(checkpoint_every="5"))]:
    bad(f"cin_stylize: {name}", S, **changes)
either("cin_stylize: a folder of good and bad files", S, **dict(FOLDER, content_dir="."))
either("cin_stylize: a 1x1 photo", S, content="one.png")
for name, changes in [
        ("missing model", dict(model="missing.keras")),
        ("garbage model", dict(model="garbage.keras")), ("port 70000", dict(port="70000")),
        ("port in use", dict(port=str(BUSY_PORT))),
        ("unknown host", dict(host="no.such.host.invalid")), ("empty host", dict(host="")),
        ("missing photo folder", dict(content_dir="nope")),
        ("empty photo folder", dict(content_dir="emptydir")),
        ("a file as the output folder", dict(output_dir="c.png")),
        ("max_upload_mb 0", dict(max_upload_mb="0")), ("preview_size 8", dict(preview_size="8")),
        ("render_size -1", dict(render_size="-1"))]:
    bad(f"cin_serve: {name}", V, **changes)
for name, changes in [
        ("unknown figure", dict(figure="nope")), ("empty entry", dict(figure="alpha_beta,")),
        ("cin_mix without a network", dict(figure="cin_mix")),
        ("cin_mix with a garbage network", dict(figure="cin_mix", cin_model="garbage.keras")),
        ("a file as the output folder", dict(output_dir="c.png")), ("size 0", dict(size="0")),
        ("missing weights file", dict(weights="missing.h5")),
        ("iterations 0", dict(iterations="0"))]:
    bad(f"figures: {name}", F, **changes)


def run_case(inputs, name, script, args, kind, env):
    """Runs one case in a fresh copy of the inputs; [problems] with the promise."""
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        shutil.copytree(inputs, folder, dirs_exist_ok=True, symlinks=True)
        for name_ in ("out.png", "out.json"):
            (folder / name_).write_bytes(EARLIER)
        before = set(folder.rglob("*"))
        try:
            done = subprocess.run(
                [sys.executable, str(ROOT / "scripts" / f"{script}.py"), *args], cwd=folder,
                capture_output=True, text=True, env={**os.environ, **env},
                timeout=40 if script == V else 300)  # A server that starts never ends.
            code, printed, stderr = done.returncode, done.stdout + done.stderr, done.stderr
        except subprocess.TimeoutExpired:
            code, printed, stderr = "timeout", "", ""
        new = [str(p.relative_to(folder)) for p in set(folder.rglob("*")) - before
               if not p.name.endswith(".error.json")]
        touched = [n for n in ("out.png", "out.json") if not (folder / n).is_file()
                   or (folder / n).read_bytes() != EARLIER]
    lines = [line for line in stderr.splitlines() if line.strip()]
    problems = ["traceback"] if "Traceback" in printed else []
    if kind == "bad":
        problems += [f"exit {code}"] if code != 2 else []
        problems += [f"{len(lines)} lines on stderr"] if len(lines) != 1 else []
        problems += [f"changed {touched}"] if touched else []
        problems += [f"new files {sorted(new)}"] if new else []
    elif code not in (0, 2) or (code == 2 and len(lines) != 1):
        problems.append(f"exit {code} with {len(lines)} lines on stderr")
    return problems, (lines or [""])[-1]


def main(words):
    cases = [c for c in CASES if not words or any(word in c[0] for word in words)]
    busy = socket.socket()
    busy.bind(("127.0.0.1", BUSY_PORT))
    busy.listen()
    broken = 0
    with tempfile.TemporaryDirectory() as inputs:
        make_inputs(pathlib.Path(inputs))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for (name, script, _, kind, _), (problems, last) in zip(cases, pool.map(
                    lambda c: run_case(inputs, *c), cases)):
                broken += bool(problems)
                print(f"{'BROKEN' if problems else 'ok':6} {script:15} {name:45.45} "
                      f"{'; '.join(problems) or last[:90]}", flush=True)
    print(f"{len(cases)} cases, {broken} broke the promise")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
