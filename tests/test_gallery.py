"""The gallery (scripts/gallery.py): it runs each entry's own command, then draws a
labelled panel per entry, within the size the README can carry."""

import json
import pathlib
import subprocess
import sys

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
GALLERY = ROOT / "scripts" / "gallery.py"


def gallery(*args):
    return subprocess.run([sys.executable, str(GALLERY), *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def test_gallery_runs_each_command_and_labels_its_panel(tmp_path):
    panels, work = tmp_path / "panels", tmp_path / "work"
    done = gallery("--only", "style_transfer,masked_transfer", "--size", 32, "--iterations",
                   1, "--weights", "random", "--network", "vgg16", "--output_dir", panels,
                   "--work_dir", work)
    assert done.returncode == 0, done.stderr
    summary = json.loads((panels / "gallery.json").read_text())
    assert [entry["name"] for entry in summary["entries"]] == ["style_transfer",
                                                               "masked_transfer"]
    style, masked = (entry["command"] for entry in summary["entries"])
    # The command shown is the command run: its output and report are where it says.
    assert style.startswith("style_transfer --content samples/content/astronaut.jpg")
    assert "--network vgg16 --size 32 --iterations 1 --weights random" in style
    assert f"--output {work}/style_transfer.png" in style
    assert json.loads((work / "style_transfer.json").read_text())["settings"]["network"] \
        == "vgg16"
    assert "--network" not in masked and f"--stylized {work}/style_transfer.png" in masked
    for name in ("style_transfer", "masked_transfer"):
        path = panels / f"{name}.jpg"
        assert path.stat().st_size <= 150_000
        with Image.open(path) as panel:
            assert panel.format == "JPEG" and panel.height > 512  # Output, title, command.
    # Drawing one entry again, from its outputs, keeps the others in the index.
    again = gallery("--draw_only", "--only", "masked_transfer", "--size", 32, "--iterations", 1,
                    "--weights", "random", "--network", "vgg16", "--output_dir", panels,
                    "--work_dir", work)
    assert again.returncode == 0, again.stderr
    assert [entry["name"] for entry in json.loads((panels / "gallery.json").read_text())[
        "entries"]] == ["style_transfer", "masked_transfer"]


def test_draw_only_needs_the_outputs_and_unknown_entries_are_named(tmp_path):
    done = gallery("--draw_only", "--only", "style_transfer", "--work_dir", tmp_path / "w",
                   "--output_dir", tmp_path / "p")
    assert done.returncode == 2
    assert done.stderr.strip().endswith("run style_transfer first (no --draw_only)")
    assert len(done.stderr.strip().splitlines()) == 1
    done = gallery("--only", "style,masked_transfer", "--output_dir", tmp_path / "p")
    assert done.returncode == 2 and "--only: style: unknown" in done.stderr
