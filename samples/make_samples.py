"""Makes the demo images in samples/ (run once; the outputs are committed).

Provenance (see samples/README.md):
- content/chelsea.jpg, content/astronaut.jpg, content/coffee.jpg and
  style/hubble_deep_field.jpg are scikit-image's bundled sample images (CC0 and NASA
  public domain); the photos at their own size (at most 600 px: the gallery's 512 px
  runs need them), the Hubble field resized.
- style/swirls.jpg is drawn here: brush strokes that follow a field of vortices, in a
  night-sky palette; masks/ are drawn here too (halves, fades, colour-coded maps, a
  doodle). They are this project's own work, dedicated to the public domain (CC0).

The paintings in style/ (but swirls.jpg) and doodle/ are public-domain works copied from
../shared/data with their provenance (samples/README.md); this script does not make them.

Usage (needs `pip install scikit-image` for the photos):
    python samples/make_samples.py
"""

import pathlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = pathlib.Path(__file__).resolve().parent
LONGEST_SIDE = 256


def save_resized(array, path, longest_side=LONGEST_SIDE):
    image = Image.fromarray(array).convert("RGB")
    scale = min(1.0, longest_side / max(image.size))
    image = image.resize((round(image.width * scale), round(image.height * scale)),
                         Image.Resampling.LANCZOS)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=90)


def swirls(size=LONGEST_SIDE, num_strokes=6000, seed=1889):
    """Short brush strokes along the flow of a few vortices (an impasto-like texture)."""
    rng = np.random.default_rng(seed)
    vortices = rng.uniform(0, size, (5, 2))
    spins = rng.choice([-1.0, 1.0], 5) * rng.uniform(0.6, 1.4, 5)
    palette = np.array([(18, 38, 92), (32, 70, 150), (70, 120, 190), (120, 170, 220),
                        (230, 200, 80), (245, 230, 150), (20, 60, 60)], float)

    def flow(x, y):  # Unit direction: rotation around every vortex, fading with distance.
        dx, dy = 0.3, 0.05
        for (vx, vy), spin in zip(vortices, spins):
            rx, ry = x - vx, y - vy
            weight = spin * np.exp(-(rx * rx + ry * ry) / (2 * (size / 4) ** 2))
            dx, dy = dx - weight * ry / (size / 8), dy + weight * rx / (size / 8)
        norm = np.hypot(dx, dy) + 1e-9
        return dx / norm, dy / norm

    canvas = Image.new("RGB", (size, size), (25, 45, 100))
    draw = ImageDraw.Draw(canvas)
    for _ in range(num_strokes):
        x, y = rng.uniform(0, size, 2)
        near = min(np.hypot(x - vx, y - vy) for vx, vy in vortices)
        warm = near < size / 10 and rng.random() < 0.7  # Bright halos at the vortex cores.
        base = palette[rng.integers(4, 6)] if warm else palette[rng.integers(0, 4)]
        colour = tuple(int(c) for c in np.clip(base + rng.normal(0, 14, 3), 0, 255))
        points = [(x, y)]
        for _ in range(rng.integers(4, 9)):
            dx, dy = flow(x, y)
            x, y = x + 2.5 * dx, y + 2.5 * dy
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(2, 5)))
    return np.asarray(canvas.filter(ImageFilter.SMOOTH))


def masks_and_maps():
    """Masks and colour-coded maps for the mask-family demos (our own work, CC0)."""
    width, height = Image.open(HERE / "content" / "chelsea.jpg").size
    scale = LONGEST_SIDE / max(width, height)
    width, height = round(width * scale), round(height * scale)
    columns = np.tile(np.arange(width, dtype=float), (height, 1))
    left = (columns < width / 2) * 255.0
    fade = np.clip((columns - width / 4) / (width / 2), 0, 1) * 255  # Soft, left to right.
    rows = np.arange(height)[:, None]
    face = ((columns - 0.55 * width) / (0.3 * width)) ** 2 + (
        (rows - 0.45 * height) / (0.45 * height)) ** 2 <= 1  # An ellipse round the face.
    style = np.asarray(Image.open(HERE / "style" / "swirls.jpg").convert("RGB"), float)
    warm = style[:, :, 0] > 140  # The yellow vortex cores of swirls.jpg.
    named = {"masks/chelsea_left.png": left, "masks/chelsea_right.png": 255 - left,
             "masks/fade_right.png": fade, "masks/fade_left.png": 255 - fade}
    for name, mask in named.items():
        (HERE / name).parent.mkdir(exist_ok=True)
        Image.fromarray(mask.astype(np.uint8)).save(HERE / name)
    red, blue = np.array([255, 0, 0]), np.array([0, 0, 255])
    for name, region in (("masks/chelsea_map.png", face), ("masks/swirls_map.png", warm)):
        Image.fromarray(np.where(region[:, :, None], red, blue).astype(np.uint8)).save(
            HERE / name)


def doodle(width=256, height=192):
    """A doodle for doodle_2_art in the colours of swirls_map.png: blue sky, red
    vortex cores (our own work, CC0). Drawn without anti-aliasing: exact colours."""
    canvas = Image.new("RGB", (width, height), (0, 0, 255))
    draw = ImageDraw.Draw(canvas)
    for x, y, radius in ((60, 60, 28), (170, 45, 20), (200, 130, 34), (90, 145, 16)):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 0, 0))
    canvas.save(HERE / "masks" / "doodle.png")


SKY, ROCK, SEA = (0, 0, 255), (255, 255, 0), (0, 255, 0)  # The Monet doodle's colours.


def monet_map(width=512, height=384):
    """A colour-coded map of doodle/monet.jpg: sky (blue), rock (yellow), sea and beach
    (green), drawn here by eye as polygons over the painting (CC0). A map computed by
    clustering colours put the needle's sunlit top in the sky, and doodle_2_art then grew
    rock in the doodle's sky (docs/pictures.md)."""
    canvas = Image.new("RGB", (width, height), SKY)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 268, width, height), fill=SEA)  # The horizon, and the beach below.
    draw.polygon([(84, 284), (98, 235), (112, 180), (122, 130), (130, 95), (140, 87),
                  (152, 88), (162, 102), (172, 140), (181, 190), (188, 240), (191, 284)],
                 fill=ROCK)  # The needle.
    draw.polygon([(264, 284), (268, 240), (274, 215), (290, 180), (306, 150), (320, 125),
                  (333, 100), (343, 62), (352, 36), (382, 28), (440, 35), (462, 30),
                  (470, 0), (width, 0), (width, 330), (470, 336), (420, 322), (390, 302),
                  (338, 286)], fill=ROCK)  # The cliff with its arch.
    draw.polygon([(292, 268), (296, 228), (306, 196), (320, 168), (333, 152), (338, 200),
                  (338, 268)], fill=SKY)  # The sky through the arch.
    draw.rectangle((292, 268, 338, 284), fill=SEA)  # The sea through it.
    canvas.save(HERE / "doodle" / "monet_map.png")


def monet_doodle(width=512, height=384):
    """A doodle in the colours of monet_map.png (CC0): an arch on the left, a needle on
    the right, the horizon lower than the painting's. No anti-aliasing: exact colours."""
    canvas = Image.new("RGB", (width, height), SKY)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 290, width, height), fill=SEA)
    draw.polygon([(0, 60), (60, 40), (150, 70), (190, 150), (200, 300), (150, 300),
                  (130, 200), (100, 170), (70, 210), (60, 300), (0, 300)], fill=ROCK)
    draw.polygon([(360, 300), (372, 170), (395, 110), (420, 100), (440, 160),
                  (452, 300)], fill=ROCK)
    canvas.save(HERE / "doodle" / "monet_doodle.png")


def main():
    save_resized(swirls(), HERE / "style" / "swirls.jpg")
    doodle()
    from skimage import data  # Only needed to refresh the three bundled photographs.
    for name in ("chelsea", "astronaut", "coffee"):  # At their own size.
        save_resized(getattr(data, name)(), HERE / "content" / f"{name}.jpg", longest_side=600)
    save_resized(data.hubble_deep_field(), HERE / "style" / "hubble_deep_field.jpg")
    monet_map()
    monet_doodle()
    masks_and_maps()  # Drawn at 256 px, to the cat's proportions (resized where used).


if __name__ == "__main__":
    main()
