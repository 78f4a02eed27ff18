"""style_transfer: the classic neural style transfer techniques in Keras 3 / TensorFlow.

One function per technique, each with the defaults of its reference code, taking images
as paths, PIL images or arrays and returning a `Result` (the image, the loss history, the
settings used):

    import style_transfer as st
    result = st.style_transfer("photo.jpg", "painting.jpg", size=512)
    result.save("out.png")

`style_transfer`, `multi_style`, `mask_style`, `region_style` (module `gatys`),
`photo_style` (`photo`), `patch_style`, `doodle_2_art` (`semantic`), `masked_transfer`
(`compositing`: no network), and `StyleNetwork` (`cin`: train one network on N styles,
stylise, mix). `help()` on each lists every setting with its default; the settings classes
(`StyleTransferSettings`, ...) are exported too. What the optimising techniques share,
their settings and the stage runner, is `transfer`; the pieces below it are modules of
their own: `vgg` (the networks), `losses`, `patches`, `masks`, `matting`, `color`,
`images`, `optimize`, `reporting`. The scripts in scripts/ are their command
lines (`cli`).

Importing the package is cheap and leaves stderr alone: TensorFlow is imported, quietly
(`startup`), when a technique is first used.
"""

import importlib
import os

__version__ = "0.2.0"

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_API = {"style_transfer": "gatys", "multi_style": "gatys", "mask_style": "gatys",
        "region_style": "gatys", "masked_transfer": "compositing", "photo_style": "photo",
        "patch_style": "semantic", "doodle_2_art": "semantic", "StyleNetwork": "cin",
        "Result": "transfer", "ArgumentError": "parameters",
        # Each technique's settings: its parameters, defaults and their meanings.
        "StyleTransferSettings": "gatys", "GatysSettings": "transfer",
        "RegionSettings": "transfer", "MaskedTransferSettings": "compositing",
        "PhotoSettings": "photo", "PatchStyleSettings": "semantic",
        "DoodleSettings": "semantic", "CINSettings": "cin"}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        importlib.import_module("style_transfer.startup")  # TensorFlow, quietly.
        return getattr(importlib.import_module(f"style_transfer.{_API[name]}"), name)
    raise AttributeError(f"module 'style_transfer' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))
