"""style_transfer: the classic neural style transfer techniques in Keras 3 / TensorFlow.

The package holds what every technique shares: the VGG19 feature model (`vgg`), the
losses (`losses`), image I/O (`images`), the L-BFGS-B bridge (`optimize`) and the shared
command line and run report (`cli`). Each technique is a short script in `scripts/`.
"""

import contextlib
import os

__version__ = "0.1.0"

os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def _stderr_silenced():
    """Sends file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow 2.21's C++ runtime prints start-up lines (oneDNN, CPU features and, on a
    machine without a GPU, a failed cuInit) straight to fd 2 whatever TF_CPP_MIN_LOG_LEVEL
    says; they would bury the one-line errors that the scripts promise. Python exceptions
    raised inside the block are unaffected.
    """
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with _stderr_silenced():
    import tensorflow

    tensorflow.config.list_physical_devices()  # Device start-up logs now, while silenced.
