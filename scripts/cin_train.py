"""Train one feed-forward network on N styles with conditional instance normalisation.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629). A transformer network T(x, s) maps a photo x to its stylisation
in style s in one forward pass. All styles share every convolution; style s owns only
the (γ_s, β_s) of each conditional instance norm (style_transfer/cin.py). Training
minimises the perceptual loss of Johnson et al. 2016 (arXiv:1603.08155), i.e. the Gatys
objective of this suite on the network's output, over random crops of your photos:

    min_T  E_{x, s} [ α L_content(T(x, s), x) + β L_style(T(x, s), a_s) + λ_tv TV ]

with Adam; each batch trains one style, drawn at random. Checkpoints are written every
--checkpoint_every steps (the network in the .keras format, the optimizer's state and
the step count); run the same command again to resume from the latest one.

Example:
    python scripts/cin_train.py --style a.jpg,b.jpg --content_dir photos/ \
        --checkpoint_dir runs/ab --steps 4000
"""

import json
import pathlib
import sys
import time

if __name__ == "__main__":  # Run from a checkout: import the package, not this file.
    sys.path[0] = str(pathlib.Path(__file__).resolve().parents[1])

from style_transfer import cin, cli, images, losses  # noqa: E402  (first: quiets TF)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402  (tf.data feeds the photos)
from absl import flags  # noqa: E402

_CONTENT_DIR = flags.DEFINE_string("content_dir", None, "A folder of photos to train on.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 256, "Side of the square training crops "
                                   "(a multiple of 4).", lower_bound=16)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 4, "Photos per step.", lower_bound=1)
_STEPS = flags.DEFINE_integer("steps", 4000, "Training steps in all.", lower_bound=1)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 1e-3, "Adam's learning rate.",
                                    lower_bound=0.0)
_CHECKPOINT_DIR = flags.DEFINE_string("checkpoint_dir", "cin_checkpoints",
                                      "Where checkpoints, the model and the report go.")
_NETWORK_WIDTH = flags.DEFINE_integer("network_width", 32, "Filters of the first "
                                      "convolution (Dumoulin et al.: 32).", lower_bound=1)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
flags.register_validator("content_dir", lambda d: d is None or pathlib.Path(d).is_dir(),
                         "--content_dir: no such folder")
flags.register_validator("image_size", lambda s: s % 4 == 0, "--image_size: use a multiple "
                         "of 4 (the network downsamples twice)")


def random_crops(folder, size, seed):
    """Endless shuffled square crops of the folder's photos, float32 RGB in [0, 255]."""
    paths = sorted(p for p in pathlib.Path(folder).iterdir()
                   if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        raise ValueError(f"--content_dir {folder}: no photos ({', '.join(PHOTO_SUFFIXES)})")
    rng = np.random.default_rng(seed)
    while True:
        for index in rng.permutation(len(paths)):
            photo = images.load(paths[index])
            scale = size / min(photo.shape[:2])  # The shorter side becomes the crop size.
            photo = images.resize(photo, max(size, round(photo.shape[0] * scale)),
                                  max(size, round(photo.shape[1] * scale)))
            y = rng.integers(0, photo.shape[0] - size + 1)
            x = rng.integers(0, photo.shape[1] - size + 1)
            yield photo[y:y + size, x:x + size]


class Checkpoints(keras.callbacks.Callback):
    """Counts steps, keeps the loss history, and saves every N steps and at the end."""

    def __init__(self, folder, every, state, trainer):
        super().__init__()
        self.folder, self.every, self.state, self.trainer = folder, every, state, trainer

    def on_train_batch_end(self, batch, logs=None):
        self.state["step"] += 1
        self.state["loss_history"].append(float(logs["loss"]))
        if self.every and self.state["step"] % self.every == 0:
            self.save()

    def save(self):
        self.trainer.transformer.save(self.folder / "model.keras")
        np.savez(self.folder / "optimizer.npz",
                 *[v.numpy() for v in self.trainer.optimizer.variables])
        text = json.dumps(self.state, indent=1).encode()
        images.write_atomically(self.folder / "state.json", lambda f: f.write(text))


def main(argv):
    del argv  # Unused.
    start_time = time.time()
    settings = cli.gatys_settings()  # α, β, λ_tv, layers and w_l.
    folder = pathlib.Path(_CHECKPOINT_DIR.value)
    folder.mkdir(parents=True, exist_ok=True)
    size = _IMAGE_SIZE.value
    style_images = [images.load(path, max_size=size) for path in cli.STYLE.value]
    weights, model = cli.feature_model(settings)

    # The style targets Â_s^l of every style, once; the network, new or resumed.
    style_grams = [losses.style_target(model, style, settings.style_layers).grams
                   for style in style_images]
    state = {"step": 0, "loss_history": [], "styles": cli.STYLE.value}
    if (folder / "state.json").is_file():
        state = json.loads((folder / "state.json").read_text())
        if state["styles"] != cli.STYLE.value:
            raise ValueError(f"--checkpoint_dir {folder} holds a network for "
                             f"{','.join(state['styles'])}; use another folder")
        transformer = keras.models.load_model(folder / "model.keras")
        cli.say(f"resuming at step {state['step']} from {folder}", cli.QUIET.value)
    else:
        transformer = cin.transformer_network(len(style_images), _NETWORK_WIDTH.value)
    trainer = cin.StyleTrainer(transformer, model, style_grams, settings, seed=cli.SEED.value)
    trainer.compile(optimizer=keras.optimizers.Adam(_LEARNING_RATE.value))
    if (folder / "optimizer.npz").is_file():  # Adam's moments, so resuming loses nothing.
        trainer.optimizer.build(transformer.trainable_variables)
        saved = np.load(folder / "optimizer.npz")
        for index, variable in enumerate(trainer.optimizer.variables):
            variable.assign(saved[f"arr_{index}"])

    photos = tf.data.Dataset.from_generator(
        lambda: random_crops(_CONTENT_DIR.value, size, cli.SEED.value + state["step"]),
        output_signature=tf.TensorSpec((size, size, 3), tf.float32))
    photos = photos.batch(_BATCH_SIZE.value, drop_remainder=True).prefetch(2)
    checkpoints = Checkpoints(folder, cli.CHECKPOINT_EVERY.value, state, trainer)
    remaining = _STEPS.value - state["step"]
    interrupted = False
    try:
        if remaining > 0:
            trainer.fit(photos, epochs=1, steps_per_epoch=remaining, callbacks=[checkpoints],
                        shuffle=False, verbose=0 if cli.QUIET.value else 1)
    except KeyboardInterrupt:
        interrupted = True
    checkpoints.save()
    seconds = time.time() - start_time
    report = {"command": [sys.executable] + sys.argv, "flags": cli.flag_values(),
              "weights": weights.to_json(), "model": str(folder / "model.keras"),
              "steps": state["step"], "interrupted": interrupted,
              "loss_history": state["loss_history"], "wall_seconds": seconds,
              "peak_memory_mb": cli.peak_memory_mb()}
    path = cli.REPORT.value or str(folder / "report.json")
    text = json.dumps(report, indent=1).encode()
    images.write_atomically(path, lambda f: f.write(text))
    cli.say(f"wrote {folder / 'model.keras'} and {path} (step {state['step']})",
            cli.QUIET.value)
    return cli.EXIT_INTERRUPTED if interrupted else 0


def run():
    """Entry point of the installed `cin_train` command."""
    cli.run(main, required=["style", "content_dir"])


if __name__ == "__main__":
    run()
