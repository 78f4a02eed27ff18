"""Labelled pictures (Pillow): grids for figures (a title strip, column labels, row
labels), and the gallery's panels (inputs beside the output, the command under it)."""

import io
import textwrap

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from style_transfer import files, images

MAX_WIDTH = 2048  # Every grid fits a screen.
_LINE = 14  # Pixel height of one line of the default bitmap font.


def _font():
    return ImageFont.load_default()


def draw_grid(cells, *, title, caption, column_labels=(), row_labels=(), cell_height=None,
              cell_labels=None):
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
        cell_labels: rows of labels (or None), each drawn under its cell.

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
    row_height = height + 4 + (_LINE + 2 if cell_labels else 0)
    canvas = Image.new("RGB", (label_width + num_columns * (cell_width + 4),
                               top + len(cells) * row_height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 2), title, fill="black", font=_font())
    draw.text((4, 2 + _LINE), caption, fill=(160, 0, 0), font=_font())
    for column, label in enumerate(column_labels):
        draw.text((label_width + column * (cell_width + 4) + 2, 2 * _LINE + 6), label,
                  fill="black", font=_font())
    for row_index, row in enumerate(cells):
        y = top + row_index * row_height
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
            label = cell_labels[row_index][column] if cell_labels else None
            if label:
                draw.text((label_width + column * (cell_width + 4) + 2, y + height + 1),
                          label, fill="black", font=_font())
    return np.asarray(canvas)


def _scalable_font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size.
        return ImageFont.load_default()


def draw_panel(output, inputs, *, title, command, output_height=512, column_width=200):
    """One technique's picture: its inputs stacked in a column on the left, each with a
    label, the output on the right, a title above and the command that made it below.

    Args:
        output: (H, W, 3) float image in [0, 255]; drawn `output_height` high.
        inputs: [(label, (H, W, 3) float image)], in the order shown.
        title: the line above (technique, paper, network).
        command: the command line, wrapped to the panel's width.

    Returns:
        PIL image.
    """
    scale = output_height / output.shape[0]
    output = images.resize(output, output_height, max(1, round(output.shape[1] * scale)))
    slot = (output_height - 4 * (len(inputs) - 1)) // len(inputs)  # Height per input.
    thumbnails = []
    for label, picture in inputs:
        factor = min((slot - 16) / picture.shape[0], column_width / picture.shape[1])
        thumbnails.append((label, images.resize(
            picture, max(1, round(picture.shape[0] * factor)),
            max(1, round(picture.shape[1] * factor)))))
    column = max(picture.shape[1] for _, picture in thumbnails)
    width, top = column + 8 + output.shape[1] + 16, 30
    wrapped = textwrap.wrap(command, width=max(40, width // 8), subsequent_indent="    ")
    canvas = Image.new("RGB", (width, top + output_height + 20 + 18 * len(wrapped)), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((8, 6), title, fill="black", font=_scalable_font(15))
    y, small = top, _scalable_font(13)
    for label, picture in thumbnails:
        draw.text((8, y), label, fill=(90, 90, 90), font=small)
        canvas.paste(Image.fromarray(images.to_uint8(picture)), (8, y + 16))
        y += slot + 4
    canvas.paste(Image.fromarray(images.to_uint8(output)), (column + 16, top))
    for line_number, text in enumerate(wrapped):
        draw.text((8, top + output_height + 10 + 18 * line_number), text, fill=(150, 0, 0),
                  font=small)
    return canvas


def save_jpeg(picture, path, max_bytes):
    """`picture` as the best JPEG quality (92 down to 32) of at most `max_bytes`, written
    atomically. Returns (bytes, quality)."""
    for quality in range(92, 30, -4):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= max_bytes:
            break
    with files.atomic_path(path) as temporary:
        temporary.write_bytes(buffer.getvalue())
    return buffer.tell(), quality
