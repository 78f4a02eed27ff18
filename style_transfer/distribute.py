"""Which devices and machines a training run uses: TensorFlow's own `tf.distribute`.

Synchronous data parallelism (TensorFlow, "Distributed training with TensorFlow",
tensorflow.org/guide/distributed_training): every replica holds a copy of the
variables, takes its share of the global batch, and the replicas' gradients are summed
(all-reduce) before one identical update on every copy. Nothing here is our own
engine; this module only chooses the strategy and says who writes files.

- one_device: `OneDeviceStrategy` on the first GPU, or the CPU.
- mirrored: `MirroredStrategy` over the local GPUs (or, with none, the local logical
  CPU devices; tests split the CPU into two).
- multi_worker: `MultiWorkerMirroredStrategy`, one process per machine (or per GPU
  group), each told the cluster and its own place in it by the `TF_CONFIG` environment
  variable: {"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type":
  "worker", "index": 0}}. Worker 0 (or a task of type "chief") is the chief.
- auto: multi_worker when `TF_CONFIG` names more than one task, mirrored when several
  GPUs are visible, else one_device.
"""

import json
import os


from style_transfer import startup
from style_transfer.parameters import ArgumentError

tf = startup.tensorflow()  # Quietly: CIN is written in TensorFlow (`backend`).

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


def cluster_tasks():
    """The number of tasks `TF_CONFIG` describes (0 when it is unset).

    Raises:
        ArgumentError: `TF_CONFIG` is not JSON with a "cluster" (names it).
    """
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return 0
    try:
        cluster = json.loads(text)["cluster"]
        return sum(len(addresses) for addresses in cluster.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArgumentError("TF_CONFIG", 'not JSON of the form {"cluster": {"worker": '
                                         '["host:port", ...]}, "task": {"type": "worker", '
                                         '"index": i}}; fix or unset it') from None


def resolve(name):
    """The strategy `auto` stands for here (other names are returned as they are)."""
    if name != "auto":
        return name
    if cluster_tasks() > 1:
        return "multi_worker"
    return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "one_device"


def create(name):
    """A `tf.distribute.Strategy` by name (`STRATEGIES`).

    Create it before anything else runs TensorFlow operations: MultiWorkerMirrored-
    Strategy configures the process's runtime for collective operations, which is only
    possible before the runtime starts.

    Raises:
        ArgumentError: an unknown name, multi_worker without `TF_CONFIG`, or a runtime
            that has already started (names `strategy`).
    """
    if name not in STRATEGIES:
        raise ArgumentError("strategy", f"{name!r}: use one of {', '.join(STRATEGIES)}")
    name = resolve(name)
    if name == "multi_worker":
        if cluster_tasks() == 0:
            raise ArgumentError("strategy", "multi_worker needs TF_CONFIG naming the "
                                            "cluster and this worker (see the README)")
        try:
            return tf.distribute.MultiWorkerMirroredStrategy()
        except (RuntimeError, ValueError) as error:
            raise ArgumentError("strategy", f"multi_worker: {error}; start training "
                                            f"before any other TensorFlow work in the "
                                            f"process (cin_train does)") from None
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(
            [device.name for device in gpus or tf.config.list_logical_devices("CPU")])
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def is_chief(strategy):
    """Whether this process writes files: the chief of a cluster, or the only process."""
    return strategy.extended.should_checkpoint


def num_workers(strategy):
    """Processes (machines) taking part: 1 unless a cluster is configured."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    return max(1, sum(len(tasks) for tasks in resolver.cluster_spec().as_dict().values()))
