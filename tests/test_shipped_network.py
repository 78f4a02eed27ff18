"""The network that ships in models/three_paintings: Dumoulin et al.'s conditional
instance norm, trained by cin_train on three of the sample paintings with ImageNet VGG16
losses (models/README.md says how). What a user sees, measured: each style is its own
painting, the photo stays recognisable, the styles mix, and the files say how it was
trained. It needs nothing outside the repository."""

import itertools
import json
import pathlib

import numpy as np
import pytest

from style_transfer import cin, images
from test_pictures import edge_correlation

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDER = ROOT / "models" / "three_paintings"
PAINTINGS = ["samples/style/starry_night.jpg", "samples/style/great_wave.jpg",
             "samples/style/the_scream.jpg"]
PHOTOS = ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"]  # Not among its training photos.
SIZE = 256


def colour_distance(image, other, bins=6):
    """Total variation distance between two images' RGB histograms (bins³ cells): 0 for
    the same palette, 1 for palettes with no colour in common."""
    found = []
    for picture in (image, other):
        counts, _ = np.histogramdd(np.asarray(picture).reshape(-1, 3), bins=bins,
                                   range=[(0, 256)] * 3)
        found.append(counts.ravel() / counts.sum())
    return 0.5 * float(np.abs(found[0] - found[1]).sum())


@pytest.fixture(scope="module")
def network():
    return cin.StyleNetwork.load(FOLDER / "model.keras")


@pytest.fixture(scope="module")
def stylised(network):
    """photo name -> (photo, [its stylisation in each style]) at SIZE px."""
    found = {}
    for name in PHOTOS:
        photo = images.load(ROOT / "samples" / "content" / name, max_size=SIZE)
        found[name] = photo, [network.stylize(photo, s, precision="float32")
                              for s in range(network.num_styles)]
    return found


def test_its_files_say_how_it_was_trained(network):
    assert network.style_names == PAINTINGS
    assert all((ROOT / painting).is_file() for painting in PAINTINGS)
    assert network.vgg_weights["network"] == "vgg16"
    assert network.vgg_weights["source"] != "random" and len(network.vgg_weights["sha256"]) == 64
    state = json.loads((FOLDER / "state.json").read_text())
    report = json.loads((FOLDER / "report.json").read_text())
    assert report["steps"] == state["step"] == len(state["loss_history"]) >= 1000
    assert report["settings"]["network"] == "vgg16"
    history = np.array(state["loss_history"])  # Training lowered the loss.
    tenth = len(history) // 10
    assert history[-tenth:].mean() < history[:tenth].mean() / 2


def test_each_style_takes_its_own_paintings_colours(stylised):
    paintings = [images.load(ROOT / painting, max_size=SIZE) for painting in PAINTINGS]
    for name, (_, outputs) in stylised.items():
        for style, output in enumerate(outputs):
            distances = [colour_distance(output, painting) for painting in paintings]
            print(f"{name}, style {style}: colour distances {np.round(distances, 2)}")
            assert np.argmin(distances) == style, (name, style, distances)


def test_the_styles_differ_and_the_photo_stays_recognisable(stylised):
    for name, (photo, outputs) in stylised.items():
        for first, second in itertools.combinations(outputs, 2):
            assert np.abs(first - second).mean() > 10  # Grey levels of 255.
        for output in outputs:
            assert edge_correlation(output, photo) > 0.4, name


def test_a_mix_lies_between_its_styles(network, stylised):
    photo, outputs = stylised["chelsea.jpg"]
    mix = network.mix(photo, {0: 0.5, 2: 0.5}, precision="float32")
    gap = np.abs(outputs[0] - outputs[2]).mean()
    assert np.abs(mix - (outputs[0] + outputs[2]) / 2).mean() < gap / 4
