"""Stylising many images with a trained CIN network: a folder, a glob, or a video's frames.

The point of a feed-forward network (Dumoulin et al., ICLR 2017; Johnson et al. 2016)
is that stylising is one forward pass: a photo library or every frame of a video. Here
threads decode the images ahead, they are grouped by size into batches (one forward
pass per batch), and each result is written atomically while the next batch runs. The
`Stylizer` is built once.

- Resumable: an image whose output already exists is skipped, so running the same
  command again after Ctrl-C, a crash or a new batch of frames does only what is left
  (outputs are written atomically, so one that exists is complete).
- Shards: `shard=(i, n)` takes images i, i + n, i + 2n, ... of the sorted list, so n jobs
  (a cluster's job array) split one folder with no coordination; each writes its own
  report.
- Frames: files are sorted by name with numbers compared as numbers (frame_9 before
  frame_10), stylised in that order with one style mix, and keep their names, so a
  video tool can read them back in order (README: the ffmpeg recipe).
"""

import concurrent.futures
import glob
import pathlib
import re
import time

import numpy as np

from style_transfer import cin_inference, files, images, reporting
from style_transfer.parameters import ArgumentError


def natural_key(path):
    """Sorts names with their numbers as numbers: frame_9.png before frame_10.png."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", pathlib.Path(path).name)] + [str(path)]


def input_paths(source):
    """The images to stylise, in order: a folder's image files, a glob's matches, or a
    list of paths.

    Raises:
        ArgumentError (names content_dir): no such folder, or nothing matches.
    """
    if isinstance(source, (list, tuple)):
        paths = [pathlib.Path(p) for p in source]
    elif glob.has_magic(str(source)):
        paths = [pathlib.Path(p) for p in glob.glob(str(source)) if pathlib.Path(p).is_file()]
    else:
        folder = pathlib.Path(source)
        if not folder.is_dir():
            raise ArgumentError("content_dir", f"{folder}: no such folder (give a folder "
                                               f"or a glob such as 'frames/*.png')")
        paths = images.image_files(folder)
    if not paths:
        raise ArgumentError("content_dir", f"{source}: no image files "
                                           f"({', '.join(images.IMAGE_SUFFIXES)})")
    return sorted(paths, key=natural_key)


def parse_shard(text):
    """'i/n' -> (i, n), 0 <= i < n.

    Raises:
        ArgumentError (names shard): anything else.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not match or not int(match[1]) < int(match[2]):
        raise ArgumentError("shard", f"{text}: write i/n with 0 <= i < n, e.g. 0/4 for the "
                                     f"first of 4 jobs")
    return int(match[1]), int(match[2])


def output_path(path, output_dir):
    """Where an image's result goes: the same name in `output_dir` (PNG if its format is
    not one we write)."""
    path = pathlib.Path(path)
    suffix = path.suffix if path.suffix.lower() in images.SAVE_FORMATS else ".png"
    return pathlib.Path(output_dir) / (path.stem + suffix)


def plan(paths, output_dir, shard=(0, 1)):
    """This shard's (input, output) pairs, and those whose outputs already exist.

    Raises:
        ArgumentError: two inputs (from different folders) would write the same output.
    """
    index, count = shard
    if not 0 <= index < count:
        raise ArgumentError("shard", f"{index}/{count}: write i/n with 0 <= i < n")
    outputs = {}
    for path in paths:
        target = output_path(path, output_dir)
        if target in outputs:
            raise ArgumentError("content_dir", f"{outputs[target]} and {path} would both "
                                               f"write {target}; stylise them separately")
        outputs[target] = path
    pairs = [(path, output_path(path, output_dir)) for path in paths[index::count]]
    return pairs, [pair for pair in pairs if pair[1].exists()]


# Batches' worth of images that may wait for others of their size (`batches`): bounds
# memory on a library of many sizes; ours, not a reference's.
HELD_BATCHES = 4


def _decoded(pairs, max_size, ahead):
    """(padded image, height, width, index, error) per input, in order, decoded by
    threads `ahead` inputs in advance (`images.in_order_ahead`). The image is
    padded as the network needs (`cin_inference.pad_for_network`); a file that fails to
    decode gives its error instead."""
    def decode(index):
        try:
            photo = images.load(pairs[index][0], max_size=max_size)
        except ValueError as error:
            return None, 0, 0, index, str(error)
        height, width = photo.shape[:2]
        padded = cin_inference.pad_for_network(photo).astype(np.float32)
        return padded, height, width, index, ""

    return images.in_order_ahead(decode, range(len(pairs)), ahead)


def batches(pairs, max_size, batch_size):
    """Lists of up to `batch_size` decoded inputs (`_decoded`) of one padded size, in
    input order where sizes repeat (frames of a video are one size: plain batches);
    a failed input goes out alone. Decoding runs two batches ahead, and at most
    `HELD_BATCHES` batches' worth of images wait for others of their size (a library
    of photos of many sizes then runs in smaller batches, not all in memory at once)."""
    waiting = {}  # padded (height, width) -> inputs of that size not yet sent, oldest first
    for decoded in _decoded(pairs, max_size, ahead=2 * batch_size):
        image = decoded[0]
        if image is None:
            yield [decoded]
            continue
        group = waiting.setdefault(image.shape[:2], [])
        group.append(decoded)
        if len(group) == batch_size:
            yield waiting.pop(image.shape[:2])
        elif sum(map(len, waiting.values())) > HELD_BATCHES * batch_size:
            yield waiting.pop(next(iter(waiting)))
    yield from waiting.values()


def stylize_folder(stylizer, weights, source, output_dir, *, shard=(0, 1), max_size=None,
                   batch_size=4, progress="bar"):
    """Stylises every image of `source` in this shard with one style-weight vector.

    Args:
        stylizer: a `cin_inference.Stylizer`.
        weights: the style-weight vector w (N floats).
        source: a folder, a glob pattern, or a list of image paths.
        output_dir: where the results go (created), each under its input's name.
        shard: (i, n): this job takes images i, i + n, ... of the sorted list.
        max_size: resize each image so its longest side is this (None: as it is).
        batch_size: images of one size per forward pass.
        progress: "bar", None, or progress(done, total) after each batch.

    Returns:
        Report fields: the counts (in the shard, skipped because done, written, failed
        to decode), seconds, images per second (written ones), and whether Ctrl-C
        stopped it. Failed files get one warning each and are left for a later run.
    """
    if batch_size < 1:
        raise ArgumentError("batch_size", f"{batch_size}: give 1 or more")
    files.make_folder(output_dir, "output_dir", create=False)
    pairs, done = plan(input_paths(source), output_dir, shard)
    todo = [pair for pair in pairs if not pair[1].exists()]
    files.make_folder(output_dir, "output_dir")
    show = _progress(progress, len(todo))
    written, failed, interrupted, start = 0, 0, False, time.perf_counter()
    weights = np.asarray(weights, np.float32)
    # Encoding and writing a result overlaps the next batch's forward pass.
    with concurrent.futures.ThreadPoolExecutor(2) as writer:
        pending = []
        try:
            for batch in batches(todo, max_size, batch_size):
                ok = [decoded for decoded in batch if not decoded[4]]
                for *_, error in batch:
                    if error:
                        images.warn(f"skipped: {error}")
                failed += len(batch) - len(ok)
                if ok:
                    outputs = np.asarray(stylizer([np.stack([image for image, *_ in ok]),
                                                   np.tile(weights, (len(ok), 1))]))
                    for row, (_, height, width, index, _) in enumerate(ok):
                        crop = outputs[row, :height, :width]
                        pending.append(writer.submit(images.save, crop, todo[index][1]))
                    written += len(ok)
                pending = _unfinished(pending)
                show(written + failed, written / (time.perf_counter() - start))
        except KeyboardInterrupt:
            interrupted = True
        for future in pending:
            future.result()  # Raises a write's error; finished files are all complete.
    seconds = time.perf_counter() - start
    return {"images": len(pairs), "skipped_done": len(done), "written": written,
            "failed": failed, "shard": f"{shard[0]}/{shard[1]}", "seconds": seconds,
            "images_per_second": written / seconds if written else None,
            "interrupted": interrupted, "output_dir": str(output_dir)}


def _unfinished(futures):
    """The writes still running; a finished one's error (a full disk) stops the run."""
    running = []
    for future in futures:
        if future.done():
            future.result()
        else:
            running.append(future)
    return running


def _progress(progress, total):
    if progress is None or total == 0:
        return lambda done, rate: None
    if callable(progress):
        return lambda done, rate: progress(done, total)
    if progress != "bar":
        raise ArgumentError("progress", f"{progress!r}: give 'bar', None or a function "
                                        f"progress(done, total)")
    bar = reporting.progress_bar(total, ["images/s"])
    return lambda done, rate: bar(done, [("images/s", rate)])
