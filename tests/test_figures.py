"""Every figure recipe runs at a tiny size and draws a labelled grid of the expected shape."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from style_transfer import grid

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXPECTED = {  # name -> (rows, columns)
    "gatys_style_layers": (1, 6), "alpha_beta": (1, 6), "styles": (2, 5),
    "preserve_color": (1, 5), "coarse_to_fine": (1, 3), "masks": (1, 4), "photo": (1, 4),
    "doodle": (1, 4), "style_losses": (2, 9)}


def test_all_figures_at_tiny_size(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "figures.py"), "--size", "64",
         "--iterations", "1", "--weights", "random", "--output_dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name, (rows, columns) in EXPECTED.items():
        layout = json.loads((tmp_path / f"{name}.json").read_text())
        assert (layout["rows"], layout["columns"]) == (rows, columns), name
        assert len(layout["column_labels"]) in (0, columns)
        assert "RANDOM weights" in layout["caption"]
        with Image.open(tmp_path / f"{name}.png") as picture:
            assert picture.width <= grid.MAX_WIDTH and picture.width >= columns * 16
        assert list((tmp_path / name).glob("*.json"))  # A report per optimised cell.
    assert "cin_mix: skipped" in done.stdout


@pytest.mark.parametrize("args, expected", [
    (["--figure", "fig9"], "--figure: fig9: unknown"),
    (["--figure", "alpha_beta,cin_mix"], "--cin_model: give a network trained by cin_train"),
    (["--output_dir", "taken"], "--output_dir: taken: is a file, not a folder")])
def test_bad_figure_arguments_are_one_line_and_write_nothing(tmp_path, args, expected):
    (tmp_path / "taken").write_text("a file in the way")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "figures.py"), "--weights", "random",
         "--output_dir", "out", *args], capture_output=True, text=True, timeout=300,
        cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and expected in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_grid_draws_labels_and_keeps_within_the_width():
    cell = np.full((40, 60, 3), 200.0)
    picture = grid.draw_grid([[cell] * 3, [None, cell, cell]], title="t", caption="c",
                             column_labels=["a", "b", "c"], row_labels=["r1", "r2"])
    assert picture.dtype == np.uint8 and picture.shape[1] <= grid.MAX_WIDTH
    assert (picture[:14] < 128).any()  # The title strip has dark text on white.
    wide = grid.draw_grid([[cell] * 60], title="t", caption="c")
    assert wide.shape[1] <= grid.MAX_WIDTH
    plain = grid.draw_grid([[cell, cell]], title="t", caption="c")
    labelled = grid.draw_grid([[cell, cell]], title="t", caption="c",
                              cell_labels=[[None, "0.5 s/it"]])
    strip = labelled[-14:]  # The line under the row: text under the second cell only.
    assert labelled.shape[0] > plain.shape[0] and (strip < 128).any()
    assert not (strip[:, :60] < 128).any()
