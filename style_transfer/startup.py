"""TensorFlow, imported once and quietly: its C++ start-up lines (oneDNN, CPU features and,
on a machine without a GPU, a failed cuInit) go to /dev/null, and its Python warnings
(a figure's many runs trace many graphs) are not shown. The command line imports this
first; so does the package the first time a technique is used from Python.
"""

import contextlib
import os


@contextlib.contextmanager
def _stderr_silenced():
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


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with _stderr_silenced():
    import tensorflow

    tensorflow.config.list_physical_devices()  # Device start-up logs now, while silenced.
# TensorFlow's Python warnings (a figure's many runs trace many graphs) are not for users.
tensorflow.get_logger().setLevel("ERROR")
