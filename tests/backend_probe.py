"""Numbers that must not depend on the Keras backend, computed on the one that
KERAS_BACKEND names, written as JSON: `python tests/backend_probe.py OUT.json`.

tests/test_backends.py runs it once on TensorFlow and once on JAX and compares:
- each technique family's objective at its first iterate, and that a short run lowers it
  (style_transfer; region_style for the masks; patch_style's MRF; photo_style, whose
  second stage adds the Matting Laplacian term);
- the photorealism term and its gradient on their own;
- the on-device L-BFGS against SciPy's, iterate by iterate, and with bounds against
  TensorFlow's on-device L-BFGS;
- one CIN training step from the same seeded network over the local devices, saved in a
  folder of its own (which the test then stylises with and resumes on TensorFlow).
"""

import json
import os
import pathlib
import sys

import numpy as np

from style_transfer import startup  # noqa: F401  (the backend, quietly; first)
import style_transfer as st  # noqa: E402
from style_transfer import backend, matting, optimize  # noqa: E402

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "samples"
SHAPE = (6, 5, 3)


def technique_runs():
    content, style = SAMPLES / "content/chelsea.jpg", SAMPLES / "style/swirls.jpg"
    maps = SAMPLES / "masks/chelsea_map.png", SAMPLES / "masks/swirls_map.png"
    small = dict(size=40, iterations=3, weights="random", progress=None)
    runs = {
        "style_transfer": lambda: st.style_transfer(content, style, **small),
        "region_style": lambda: st.region_style(content, style, *maps, **small),
        "patch_style": lambda: st.patch_style(content, style, *maps, patch_loss="mrf",
                                              **small),
        "photo_style": lambda: st.photo_style(content, SAMPLES / "style/hubble_deep_field.jpg",
                                              **small),
    }
    numbers = {}
    for name, run in runs.items():
        result = run()
        first_stage = [step for step in result.history if step.iteration == 0]
        numbers[name] = {"first": result.history[0].losses, "last": result.losses,
                         "stages": len(first_stage),
                         "finite": bool(np.isfinite(result.image).all())}
    return numbers


def photorealism_term():
    rng = np.random.default_rng(3)
    content = rng.uniform(0, 1, (7, 9, 3))
    image = rng.uniform(0, 255, (7, 9, 3)).astype(np.float32)
    term = matting.photorealism_loss(matting.matting_laplacian(content), weight=1e4)
    function = backend.loss_and_gradient_function(lambda x: {"total": term(x)}, image.shape)
    terms, gradient = function(image)
    return {"value": float(terms["total"]), "gradient": np.asarray(gradient).ravel().tolist()}


def lbfgs_runs():
    """A smooth, non-separable problem (every pixel coupled to the others)."""
    import keras
    ops = keras.ops
    rng = np.random.default_rng(5)
    # Constants as tensors: PyTorch's operators do not take NumPy arrays.
    target = ops.convert_to_tensor(rng.uniform(-40, 300, SHAPE).astype(np.float32))
    coupling = ops.convert_to_tensor(rng.normal(size=SHAPE).astype(np.float32))

    def loss(image):
        total = (ops.sum(ops.sin(image / 40.0) * coupling)
                 + 1e-3 * ops.sum(ops.square(image - target))
                 + 1e-5 * ops.square(ops.sum(image)))
        return {"total": total}

    def misleading_below(threshold):
        """`loss`, whose gradient turns into that of its negative once the value is below
        `threshold`: from there no direction descends, and every line search fails."""
        def misleading(image):
            total = loss(image)["total"]
            reversed_gradient = total - 2.0 * (total - ops.stop_gradient(total))
            return {"total": ops.where(total < threshold, reversed_gradient, total)}
        return misleading

    def summary(result):
        return {"totals": [step.losses["total"] for step in result.history],
                "low": float(result.image.min()), "high": float(result.image.max()),
                "stop_reason": result.stop_reason, "evaluations": result.num_evaluations}

    start = rng.uniform(0, 255, SHAPE)
    numbers = {}
    for bounds in (None, (0.0, 255.0)):
        for optimizer in ("scipy", "device"):
            result = optimize.minimize(loss, start, max_iterations=6, optimizer=optimizer,
                                       bounds=bounds)
            numbers[f"{optimizer}{'' if bounds is None else ', bounds'}"] = summary(result)
    # To the end: the device run stops by itself (a step that lowers nothing). Each read
    # of device values is a wait for the device: they are counted.
    reads, to_host = [], backend.to_host
    backend.to_host = lambda tree: reads.append(1) or to_host(tree)
    try:
        result = optimize.lbfgs_device(loss, start, max_iterations=40)
    finally:
        backend.to_host = to_host
    numbers["device, to the end"] = dict(summary(result), reads=len(reads),
                                         iterations=result.num_iterations)
    # Every line search fails once the loss is below 900 (after two iterations): the
    # search along the L-BFGS direction, then the restart's along the gradient. With 8
    # evaluations allowed per search, each fails before float rounding can end it.
    allowed, optimize.MAX_LINE_SEARCH = optimize.MAX_LINE_SEARCH, 8
    try:
        result = optimize.lbfgs_device(misleading_below(900.0), start, max_iterations=10)
    finally:
        optimize.MAX_LINE_SEARCH = allowed
    numbers["device, misleading gradient"] = dict(
        summary(result), evaluations_before=result.history[-1].num_evaluations)
    # The callback ends the run at iteration 3; the result is that iteration's image.
    seen = {}

    def stop_at_three(step):
        seen[step.iteration] = step.image
        if step.iteration == 3:
            raise StopIteration

    result = optimize.lbfgs_device(loss, start, max_iterations=6, callback=stop_at_three)
    numbers["device, stopped by the callback"] = {
        "iterations": result.num_iterations, "stop_reason": result.stop_reason,
        "image_is_the_last_seen": bool(np.array_equal(result.image, seen[3]))}
    return numbers


def cin_step(folder):
    """One Adam step of a tiny CIN network on two styles; what it saved; its stylisation
    of a photo with a mix of both styles."""
    from PIL import Image
    from style_transfer import cin
    rng = np.random.default_rng(7)
    (folder / "photos").mkdir(parents=True)
    for k in range(3):
        Image.fromarray(rng.integers(0, 255, (40 + 4 * k, 50, 3), dtype=np.uint8)).save(
            folder / "photos" / f"p{k}.png")
    styles = []
    for k in range(2):
        styles.append(folder / f"style{k}.png")
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(styles[-1])
    # Every local device: test_backends gives JAX two CPU devices (data parallel).
    network, report = cin.StyleNetwork.train(
        styles, folder / "photos", folder / "run", progress=None, strategy="mirrored",
        **CIN_TINY)
    saved = np.load(folder / "run" / "optimizer.npz")
    photo = rng.uniform(0, 255, (20, 28, 3)).astype(np.float32)
    return {"loss": report["loss_history"], "replicas": report["replicas"],
            "folder": str(folder),
            "styles": [str(path) for path in styles],
            # Adam's variables: iteration, learning rate, then (momentum, velocity) each.
            "first_moments": [saved[f"arr_{k}"].ravel().tolist()
                              for k in range(2, len(saved.files), 2)],
            "stylized": network.stylize(photo, {0: 0.4, 1: 0.6}).ravel().tolist(),
            "photo": photo.ravel().tolist()}


CIN_TINY = dict(steps=1, batch_size=4, image_size=16, network_width=4, weights="random",
                learning_rate=1e-2, content_weight=1e6, style_weight=1e2)


if __name__ == "__main__":
    found = {"backend": backend.name(), "requested": os.environ.get("KERAS_BACKEND"),
             "techniques": technique_runs(), "photorealism": photorealism_term(),
             "lbfgs": lbfgs_runs(),
             "cin": cin_step(pathlib.Path(sys.argv[1]).with_suffix(".cin"))}
    found["tensorflow_imported"] = "tensorflow" in sys.modules  # After every run.
    pathlib.Path(sys.argv[1]).write_text(json.dumps(found))
