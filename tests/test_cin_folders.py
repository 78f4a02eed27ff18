"""Stylising folders, globs and frames: order, shards, resuming, batches per size."""

import warnings

import numpy as np
import pytest
from PIL import Image

from style_transfer import cin, cin_folders, cin_network
from style_transfer.parameters import ArgumentError


@pytest.fixture(scope="module")
def network():
    return cin.StyleNetwork(cin_network.transformer_network(2, base_filters=4, num_residual_blocks=1,
                                                    seed=0))


def write_images(folder, rng, shapes):
    folder.mkdir(parents=True, exist_ok=True)
    for k, shape in enumerate(shapes):
        Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(
            folder / f"frame_{k}.png")
    return sorted(folder.iterdir(), key=cin_folders.natural_key)


def test_inputs_are_sorted_as_frames_and_named_as_given(tmp_path, rng):
    write_images(tmp_path / "in", rng, [(8, 8)] * 12)
    (tmp_path / "in" / "notes.txt").write_text("not an image")
    names = [p.name for p in cin_folders.input_paths(tmp_path / "in")]
    assert names == [f"frame_{k}.png" for k in range(12)]  # 9 before 10, the .txt left out.
    assert [p.name for p in cin_folders.input_paths(str(tmp_path / "in" / "frame_1*.png"))] == [
        "frame_1.png", "frame_10.png", "frame_11.png"]
    for source, message in ((tmp_path / "nowhere", "no such folder"),
                            (str(tmp_path / "in" / "*.jpg"), "no image files")):
        with pytest.raises(ArgumentError, match=f"^content_dir: .*{message}"):
            cin_folders.input_paths(source)
    assert cin_folders.output_path("a/b/x.JPG", "out").as_posix() == "out/x.JPG"
    assert cin_folders.output_path("a/x.gif", "out").as_posix() == "out/x.png"
    with pytest.raises(ArgumentError, match="both write"):
        cin_folders.plan([tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"], tmp_path)


@pytest.mark.parametrize("text, expected", [("0/1", (0, 1)), ("3/4", (3, 4)),
                                            (" 1 / 2 ", (1, 2))])
def test_shards_parse(text, expected):
    assert cin_folders.parse_shard(text) == expected


@pytest.mark.parametrize("text", ["2/2", "1", "-1/2", "a/b", "1/0", ""])
def test_bad_shards_are_refused(text):
    with pytest.raises(ArgumentError, match="^shard: .*0 <= i < n"):
        cin_folders.parse_shard(text)


def test_shards_cover_the_folder_and_equal_one_image_at_a_time(tmp_path, rng, network):
    """Two shards write every image once; batches of mixed sizes give what stylising
    each image alone gives (to the 8-bit rounding of the saved file)."""
    paths = write_images(tmp_path / "in", rng, [(20, 24), (30, 26), (20, 24), (17, 31),
                                                (20, 24), (30, 26), (20, 24)])
    (tmp_path / "in" / "frame_99.png").write_bytes(b"\x89PNG\r\n\x1a\n not a picture")
    mix = {0: 0.25, 1: 0.75}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reports = [network.stylize_folder(tmp_path / "in", tmp_path / "out", mix, shard=shard,
                                          batch_size=2, progress=None)
                   for shard in ((0, 2), (1, 2))]
    assert [(r["images"], r["written"], r["failed"]) for r in reports] == [(4, 4, 0),
                                                                          (4, 3, 1)]
    messages = [str(w.message) for w in caught if "frame_99" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith(
        f"skipped: {tmp_path / 'in' / 'frame_99.png'}: not an image Pillow can read")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in paths]
    for path in paths:
        alone = network.stylize(str(path), mix)
        saved = np.asarray(Image.open(tmp_path / "out" / path.name), np.float32)
        assert saved.shape == alone.shape
        assert np.abs(saved - alone).max() <= 0.51  # Only the rounding to 8 bits.


def test_batches_hold_a_bounded_number_of_images_of_other_sizes(tmp_path, rng, monkeypatch):
    """Images wait for others of their size to fill a batch, but no more than
    HELD_BATCHES batches' worth of them: then the oldest size goes out as it is."""
    sides = (16, 20, 16, 24, 28, 20)  # Padded sizes: A, B, A, C, D, B.
    paths = write_images(tmp_path / "frames", rng, [(side, side) for side in sides])
    monkeypatch.setattr(cin_folders, "HELD_BATCHES", 1)
    pairs = [(path, tmp_path / "out" / path.name) for path in paths]
    groups = list(cin_folders.batches(pairs, None, batch_size=2))
    # A fills a batch; B waits, until D makes three waiting images (> 1 batch of 2): B
    # goes out alone, though another B comes next (unbounded, it would wait for it).
    assert [[index for _, _, _, index, _ in group] for group in groups] == [
        [0, 2], [1], [3], [4], [5]]
    assert all(len({image.shape for image, *_ in group}) == 1 for group in groups)


def test_tiny_frames_and_an_output_folder_in_the_way(tmp_path, rng, network):
    """Frames smaller than the network reaches are stylised all the same (padded); a file
    where the results would go is refused before anything is read or written."""
    write_images(tmp_path / "in", rng, [(3, 3), (1, 9), (16, 16)])
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ArgumentError, match="^output_dir: .*taken: is a file, not a folder"):
        network.stylize_folder(tmp_path / "in", tmp_path / "taken", progress=None)
    report = network.stylize_folder(tmp_path / "in", tmp_path / "out", progress=None)
    assert (report["written"], report["failed"]) == (3, 0)
    assert [Image.open(tmp_path / "out" / f"frame_{k}.png").size for k in range(3)] == [
        (3, 3), (9, 1), (16, 16)]


def test_a_second_run_does_only_what_is_left(tmp_path, rng, network):
    write_images(tmp_path / "in", rng, [(16, 16)] * 5)
    first = network.stylize_folder(tmp_path / "in", tmp_path / "out", progress=None)
    assert (first["written"], first["skipped_done"]) == (5, 0) and first["images_per_second"]
    before = (tmp_path / "out" / "frame_0.png").stat().st_mtime_ns
    (tmp_path / "out" / "frame_3.png").unlink()
    second = network.stylize_folder(tmp_path / "in", tmp_path / "out", progress=None)
    assert (second["written"], second["skipped_done"]) == (1, 4)
    assert (tmp_path / "out" / "frame_3.png").is_file()
    assert (tmp_path / "out" / "frame_0.png").stat().st_mtime_ns == before


def test_ctrl_c_keeps_every_finished_image_whole(tmp_path, rng, network):
    write_images(tmp_path / "in", rng, [(16, 16)] * 6)
    stylizer, calls = network.stylizer("float32"), []

    def interrupted_after_one_batch(inputs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return stylizer(inputs)

    report = cin_folders.stylize_folder(interrupted_after_one_batch, [1.0, 0.0],
                                        tmp_path / "in", tmp_path / "out", batch_size=2,
                                        progress=None)
    assert report["interrupted"] and report["written"] == 2
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["frame_0.png", "frame_1.png"]  # Whole files, no temporaries.
    for name in written:
        assert Image.open(tmp_path / "out" / name).size == (16, 16)
