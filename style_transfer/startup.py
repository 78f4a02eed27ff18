"""The Keras backend, imported once and quietly. For TensorFlow (the default): its C++
start-up lines (oneDNN, CPU features and, on a machine without a GPU, a failed cuInit) go
to /dev/null, and its Python warnings (a figure's many runs trace many graphs) are not
shown. Under `KERAS_BACKEND=jax` or `torch` TensorFlow is not needed (Keras imports it
where it is installed; quietly, here). The command line
imports this first; so does the package the first time a technique is used from Python.
"""

import contextlib
import logging
import os


@contextlib.contextmanager
def stderr_silenced():
    """Sends file descriptor 2 to /dev/null for the duration of the block.

    TensorFlow's C++ runtime prints start-up lines (oneDNN, CPU features and, on a
    machine without a GPU, a failed cuInit) straight to fd 2 whatever TF_CPP_MIN_LOG_LEVEL
    says. Python exceptions raised inside the block are unaffected.
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


def tensorflow():
    """TensorFlow, imported quietly."""
    with stderr_silenced():
        import tensorflow

        tensorflow.config.list_physical_devices()  # Device start-up logs now, silenced.
    # TensorFlow's Python warnings (a figure's many runs trace many graphs) are not for users.
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if os.environ["KERAS_BACKEND"] == "tensorflow":
    tensorflow()
else:  # Another Keras backend (`backend`): TensorFlow is not needed.
    # JAX logs, as a warning, each accelerator it looks for and does not find.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.ERROR)
    with stderr_silenced():
        import keras  # noqa: F401  (the backend's own start-up lines, silenced)
    # Keras imports TensorFlow wherever it is installed, whatever the backend (its
    # serialisation, e.g. a layer's get_config, looks for tf.TensorShape): imported
    # here first, its start-up lines are silenced too.
    try:
        tensorflow()
    except ImportError:
        pass
