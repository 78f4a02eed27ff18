"""Labelled image grids for figures: a title strip, column labels, row labels (Pillow)."""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from style_transfer import images

MAX_WIDTH = 2048  # Every grid fits a screen.
_LINE = 14  # Pixel height of one line of the default bitmap font.


def _font():
    return ImageFont.load_default()


def draw_grid(cells, *, title, caption, column_labels=(), row_labels=(), cell_height=None):
    """Draws a grid of images with labels; each row is scaled to one cell height.

    Args:
        cells: list of rows, each a list of (H, W, 3) float images in [0, 255] or None
            (an empty cell).
        title: first line of the label strip (figure name and paper).
        caption: second line (what varies, and which weights made it).
        column_labels: one label per column, above the first row.
        row_labels: one label per row, left of it.
        cell_height: pixel height of a cell; default: the first image's height, reduced
            so that the grid is at most `MAX_WIDTH` wide.

    Returns:
        (H, W, 3) uint8 array.
    """
    num_columns = max(len(row) for row in cells)
    first = next(c for row in cells for c in row if c is not None)
    height = cell_height or first.shape[0]
    aspect = max(c.shape[1] / c.shape[0] for row in cells for c in row if c is not None)
    label_width = 8 + 7 * max((len(label) for label in row_labels), default=0)
    cell_width = round(height * aspect)
    if label_width + num_columns * (cell_width + 4) > MAX_WIDTH:
        cell_width = (MAX_WIDTH - label_width) // num_columns - 4
        height = max(8, round(cell_width / aspect))
    top = 2 * _LINE + 8 + (_LINE + 4 if column_labels else 0)
    canvas = Image.new("RGB", (label_width + num_columns * (cell_width + 4),
                               top + len(cells) * (height + 4)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 2), title, fill="black", font=_font())
    draw.text((4, 2 + _LINE), caption, fill=(160, 0, 0), font=_font())
    for column, label in enumerate(column_labels):
        draw.text((label_width + column * (cell_width + 4) + 2, 2 * _LINE + 6), label,
                  fill="black", font=_font())
    for row_index, row in enumerate(cells):
        y = top + row_index * (height + 4)
        if row_index < len(row_labels):
            draw.text((4, y + height // 2 - _LINE // 2), row_labels[row_index],
                      fill="black", font=_font())
        for column, cell in enumerate(row):
            if cell is None:
                continue
            scale = min(height / cell.shape[0], cell_width / cell.shape[1])
            shape = max(1, round(cell.shape[0] * scale)), max(1, round(cell.shape[1] * scale))
            picture = Image.fromarray(images.to_uint8(images.resize(cell, *shape)))
            canvas.paste(picture, (label_width + column * (cell_width + 4), y))
    return np.asarray(canvas)
