"""Every command of the README's examples runs on a fresh clone, as written: the files it
names are the repository's own, and one example's output is the next one's input.

Each command runs in order in an empty folder (with the repository's samples/ and models/
in it), from the README's text, with flags appended that make it fast (absl takes a
flag's last value): random weights, one iteration, a tiny size, one training step. What
is checked is what a newcomer trips on: a file that does not exist, a flag that is gone,
a folder not made, an output that the next command needs and does not find.
"""

import pathlib
import re
import shlex
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
OPTIMISING = {"style_transfer", "multi_style", "mask_style", "region_style", "patch_style",
              "doodle_2_art", "photo_style"}
FAST = {name: ["--weights", "random", "--iterations", "1", "--size", "32"]
        for name in OPTIMISING}
for name in ("patch_style", "doodle_2_art"):  # MRF: 3x3 patches at relu4_1.
    FAST[name][-1] = "64"
FAST["cin_train"] = ["--weights", "random", "--steps", "1", "--image_size", "32",
                     "--batch_size", "2", "--checkpoint_every", "1"]
SKIPPED = {"cin_serve": "a server that runs until stopped (tests/test_mixing_page.py)"}


def readme_commands():
    """The `.venv/bin/NAME ...` lines of the README's sh blocks, continuation lines
    joined; lines with `...` placeholders are prose, not commands."""
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0].startswith(".venv/bin/") and "..." not in words:
                commands.append([words[0].removeprefix(".venv/bin/")] + words[1:])
    return commands


def test_the_readme_has_an_example_for_every_command():
    names = {command[0] for command in readme_commands()}
    assert OPTIMISING | {"masked_transfer", "cin_train", "cin_stylize", "cin_serve"} <= names


def test_every_readme_example_runs_in_order_on_the_repositorys_files(tmp_path):
    for folder in ("samples", "models"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    for name, *arguments in readme_commands():
        if name in SKIPPED:
            continue
        if name != "python":
            arguments = [str(ROOT / "scripts" / f"{name}.py")] + arguments
        if "--scales" in arguments:  # Coarse to fine: one tiny stage instead.
            arguments += ["--scales", "32"]
        done = subprocess.run([sys.executable, *arguments, *FAST.get(name, [])],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{name} {shlex.join(arguments[1:])}:\n{done.stderr}"
        for flag in ("--output", "--checkpoint_dir"):
            if flag in arguments:
                written = tmp_path / arguments[arguments.index(flag) + 1]
                assert written.exists(), f"{name} did not write {written}"

