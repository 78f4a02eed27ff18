"""Stylising many images with a trained CIN network: a folder, a glob, or a video's frames.

The point of a feed-forward network (Dumoulin et al., ICLR 2017; Johnson et al. 2016)
is that stylising is one forward pass: a photo library or every frame of a video. Here
one `tf.data` pipeline decodes the images in parallel threads, groups them by size into
batches (one forward pass per batch), and each result is written atomically while the
next batch runs. The `Stylizer` is built once.

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

from style_transfer import cin_inference, files, images, reporting, startup
from style_transfer.parameters import ArgumentError

tf = startup.tensorflow()  # Quietly: CIN is written in TensorFlow (`backend`).


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


def _decoded(pairs, max_size):
    """tf.data: (padded image, height, width, index, error) per input, decoded in
    parallel, in order. The image is padded as the network needs
    (`cin_inference.pad_for_network`); a file that fails to decode gives its error instead."""
    def decode(index):
        path = pairs[int(index)][0]
        try:
            photo = images.load(path, max_size=max_size)
        except ValueError as error:
            return np.zeros((4, 4, 3), np.float32), 0, 0, str(error)
        height, width = photo.shape[:2]
        padded = cin_inference.pad_for_network(photo)
        return padded.astype(np.float32), height, width, ""

    def load(index):
        image, height, width, error = tf.numpy_function(
            decode, [index], (tf.float32, tf.int64, tf.int64, tf.string))
        return tf.ensure_shape(image, (None, None, 3)), height, width, index, error

    return tf.data.Dataset.range(len(pairs)).map(
        load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def batches(pairs, max_size, batch_size):
    """tf.data: batches of images of one padded size (group_by_window), in input order
    where sizes repeat (frames of a video are one size: plain batches of `batch_size`)."""
    def size_key(image, height, width, index, error):
        shape = tf.shape(image, out_type=tf.int64)
        return shape[0] * 1_000_003 + shape[1]

    return _decoded(pairs, max_size).group_by_window(
        key_func=size_key, reduce_func=lambda key, window: window.batch(batch_size),
        window_size=batch_size).prefetch(2)


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
            for image, height, width, index, error in batches(todo, max_size, batch_size):
                count = int(tf.shape(image)[0])
                ok = [k for k in range(count) if not error[k].numpy()]
                for k in range(count):
                    if error[k].numpy():
                        images.warn(f"skipped: {error[k].numpy().decode()}")
                failed += count - len(ok)
                if ok:
                    batch = tf.gather(image, ok)
                    outputs = np.asarray(stylizer([batch, np.tile(weights, (len(ok), 1))]))
                    for row, k in enumerate(ok):
                        target = todo[int(index[k])][1]
                        crop = outputs[row, :int(height[k]), :int(width[k])]
                        pending.append(writer.submit(images.save, crop, target))
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
