"""What the benchmarks share: which images they measure on, how an evaluation is timed on
any backend, and how figures are saved."""

import itertools
import json
import os
import pathlib
import platform
import time

from style_transfer import cli  # noqa: F401  (first: quiets the backend)
from style_transfer import backend, vgg
import keras
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLES = ROOT / "samples"


def image_paths():
    """Gatys et al.'s Tübingen and Starry Night if ../shared is there, else our samples."""
    if (SHARED / "content" / "tubingen.jpg").is_file():
        return SHARED / "content" / "tubingen.jpg", SHARED / "style" / "starry_night.jpg"
    return SAMPLES / "content" / "chelsea.jpg", SAMPLES / "style" / "swirls.jpg"


def write_results(path, results):
    """Writes a benchmark's figures as JSON (if a path is given) and says where."""
    if not path:
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    print(f"wrote {path}")


def device_name():
    """The device the backend computes on, in words."""
    if backend.name() == "jax":
        import jax
        device = jax.devices()[0]
        return f"{device.platform}: {device.device_kind}"
    if backend.name() == "torch":
        import torch
        if torch.cuda.is_available():
            return "gpu: " + torch.cuda.get_device_name(0)
        if torch.backends.mps.is_available():
            return "mps: Apple GPU"
    else:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return "gpu: " + details.get("device_name", "")
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def mean_seconds(function, argument, repeats):
    """Mean wall time of `function(argument)` -> (terms, gradient), after one call that
    compiles it; the host waits for the device's last result."""
    def wait(outputs):
        terms, gradient = outputs
        return float(keras.ops.convert_to_numpy(gradient).ravel()[0])
    wait(function(argument))
    start = time.perf_counter()
    for _ in range(repeats):
        outputs = function(argument)
    wait(outputs)
    return (time.perf_counter() - start) / repeats


def floor_function(model, shape):
    """One bare forward+backward pass of the feature model: the gradient of the sum of
    every output, the least an evaluation of a loss on those layers can cost."""
    def total(image):
        outputs = model(vgg.preprocess(image)[None])
        return {"total": sum(keras.ops.sum(value) for value in outputs.values())}
    return backend.loss_and_gradient_function(total, shape)


def cin_training_steps_per_second(network, rng, size, batch_size, steps):
    """cin_train's Adam steps per second on one device, `network` trained on two random
    styles with cin_train's loss (random VGG weights: speed does not depend on them), at
    `size` px with `batch_size` photos held in memory (the step alone, not the decoding),
    over `steps` steps after one that compiles."""
    from style_transfer import cin, distribute, losses
    settings = cin.CINSettings(weights="random")  # cin_train's defaults (Magenta's).
    model = settings.feature_model()
    objective = settings.objective(model)
    styles = rng.uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    grams = [losses.style_target(model, s, objective.style_layers).statistics for s in styles]
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    optimizer.build(network.trainable_variables)
    trainer = cin.StyleTrainer(network, model, grams, objective, optimizer)
    photos = rng.uniform(0, 255, (batch_size, size, size, 3)).astype(np.float32)
    styles = np.zeros(batch_size, np.int32)  # One style per batch, as cin_train draws them.
    if backend.name() == "tensorflow":
        import tensorflow as tf
        strategy = tf.distribute.get_strategy()  # One device, as cin_train on one CPU.
        batches = iter(tf.data.Dataset.from_tensors((photos, styles)).repeat())
    else:
        strategy = distribute.create("one_device")
        batches = itertools.repeat((photos, styles))
    step = distribute.step_function(trainer, strategy, batch_size)
    float(step(batches))  # Compiles.
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(batches)
    float(loss)  # Waits for the last step.
    steps_per_second = steps / (time.perf_counter() - start)
    print(f"training at {size} px, batch {batch_size}: {steps_per_second:.3f} steps/s "
          f"({1 / steps_per_second:.2f} s/step)", flush=True)
    return steps_per_second
