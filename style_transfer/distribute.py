"""Which devices and machines a training run uses, and how its steps run: TensorFlow's
`tf.distribute`, or `keras.distribution` on JAX.

Synchronous data parallelism (TensorFlow, "Distributed training with TensorFlow",
tensorflow.org/guide/distributed_training; Keras, "Distributed training with JAX",
keras.io/guides/distributed_training_with_jax): every replica holds a copy of the
variables, takes its share of the global batch, and the replicas' gradients are summed
(all-reduce) before one identical update on every copy. Nothing here is our own
engine; this module chooses the strategy, says who writes files, and runs a step of
`cin.StyleTrainer` the way the backend runs one.

- one_device: the first GPU, or the CPU.
- mirrored: the local GPUs (or, with none, the local logical CPU devices; tests split
  the CPU into two). TensorFlow: `MirroredStrategy`. JAX: `keras.distribution.
  DataParallel`, the batch sharded over the devices and the variables replicated, one
  compiled step (XLA inserts the all-reduce).
- multi_worker (TensorFlow): `MultiWorkerMirroredStrategy`, one process per machine (or
  per GPU group), each told the cluster and its own place in it by the `TF_CONFIG`
  environment variable: {"cluster": {"worker": ["host1:port", "host2:port"]}, "task":
  {"type": "worker", "index": 0}}. Worker 0 (or a task of type "chief") is the chief.
- auto: multi_worker when `TF_CONFIG` names more than one task, mirrored when several
  GPUs are visible, else one_device.

The input: TensorFlow reads `cin.TrainingCrops.dataset` (tf.data, one pipeline per
machine); JAX reads `cin.TrainingCrops.batches` (threads that decode ahead). Both give
step k the same photos and style.
"""

import contextlib
import json
import os

import keras
import numpy as np

from style_transfer import backend, startup
from style_transfer.parameters import ArgumentError

# CIN's TensorFlow parts; a JAX-only machine (the lent GPU) has no TensorFlow.
tf = startup.tensorflow() if backend.name() == "tensorflow" else None

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


def _jax_gpus():
    import jax
    return [device for device in jax.devices() if device.platform == "gpu"]


def _gpu_count():
    if backend.name() == "torch":
        import torch
        return torch.cuda.device_count()
    return len(tf.config.list_physical_devices("GPU") if tf is not None else _jax_gpus())


def resolve(name):
    """The strategy `auto` stands for here (other names are returned as they are)."""
    if name != "auto":
        return name
    if cluster_tasks() > 1:
        return "multi_worker"
    return "mirrored" if _gpu_count() > 1 else "one_device"


def create(name):
    """The strategy by name (`STRATEGIES`): a `tf.distribute.Strategy`, or on JAX a
    `JaxStrategy`.

    Create it before anything else runs TensorFlow operations: MultiWorkerMirrored-
    Strategy configures the process's runtime for collective operations, which is only
    possible before the runtime starts.

    Raises:
        ArgumentError: an unknown name, multi_worker without `TF_CONFIG` (or on JAX), or
            a runtime that has already started (names `strategy`).
    """
    if name not in STRATEGIES:
        raise ArgumentError("strategy", f"{name!r}: use one of {', '.join(STRATEGIES)}")
    name = resolve(name)
    if backend.name() == "torch":
        return TorchStrategy(name)
    if tf is None:
        return JaxStrategy(name)
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


class JaxStrategy:
    """one_device or mirrored on JAX, with the members of a `tf.distribute.Strategy` that
    training reads: `num_replicas_in_sync` and `scope()` (variables made inside it are
    replicated over the devices)."""

    def __init__(self, name):
        import jax
        if name == "multi_worker":
            raise ArgumentError("strategy", "multi_worker runs on TensorFlow (TF_CONFIG); "
                                            "on JAX use mirrored (this machine's devices) "
                                            "or one_device")
        devices = _jax_gpus() or jax.devices("cpu")
        self.devices = devices if name == "mirrored" else devices[:1]
        self.num_replicas_in_sync = len(self.devices)
        self.distribution = (keras.distribution.DataParallel(devices=self.devices)
                             if len(self.devices) > 1 else None)

    def scope(self):
        return self.distribution.scope() if self.distribution else contextlib.nullcontext()

    def shard(self, batch):
        """A global batch (B, ...) split over the devices along B (else as it is)."""
        if self.distribution is None:
            return batch
        layout = self.distribution.get_data_layout(batch.shape)
        return keras.distribution.distribute_tensor(batch, layout)


class TorchStrategy:
    """one_device on PyTorch, with the members training reads: Keras' data parallelism
    (`keras.distribution`) runs on JAX only, so several GPUs are refused."""
    num_replicas_in_sync = 1

    def __init__(self, name):
        if name == "multi_worker" or (name == "mirrored" and _gpu_count() > 1):
            raise ArgumentError("strategy", f"{name} runs on TensorFlow or JAX; on PyTorch "
                                            f"use one_device (one GPU)")

    def scope(self):
        return contextlib.nullcontext()


def is_chief(strategy):
    """Whether this process writes files: the chief of a cluster, or the only process."""
    if isinstance(strategy, (JaxStrategy, TorchStrategy)):
        return True
    return strategy.extended.should_checkpoint


def num_workers(strategy):
    """Processes (machines) taking part: 1 unless a cluster is configured."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    return max(1, sum(len(tasks) for tasks in resolver.cluster_spec().as_dict().values()))


def batches(strategy, crops, batch_size, first_step, last_step):
    """An iterator over the (photos, styles) batches of steps first_step .. last_step - 1
    of `crops` (a `cin.TrainingCrops`), as `step_function`'s steps read them."""
    if isinstance(strategy, (JaxStrategy, TorchStrategy)):
        return crops.batches(batch_size, first_step, last_step)
    return iter(strategy.distribute_datasets_from_function(
        lambda context: crops.dataset(batch_size, first_step, last_step, context)))


def step_function(trainer, strategy, batch_size):
    """One compiled training step of `trainer` (a `cin.StyleTrainer`) under `strategy`:
    step(iterator) takes the next global batch (of `batch_size`) from `batches`, makes
    one Adam update on every replica, and returns the mean loss over the global batch
    (before the update)."""
    if isinstance(strategy, JaxStrategy):
        return _jax_step_function(trainer, strategy)
    if isinstance(strategy, TorchStrategy):
        return _torch_step_function(trainer)
    replicas = strategy.num_replicas_in_sync
    variables = trainer.transformer.trainable_variables

    def replica_step(photos, styles):  # A batch trains one style: styles are equal.
        # Multi-worker input loses the static batch size that batch_loss unrolls.
        photos = tf.ensure_shape(photos, (batch_size // replicas, None, None, 3))
        with tf.GradientTape() as tape:
            loss = trainer.batch_loss(photos, styles[0])
            # Keras' optimizer sums the replicas' gradients: each replica's mean loss is
            # divided by their number, so the update is the one for the global mean.
            share = loss / replicas
        trainer.optimizer.apply_gradients(zip(tape.gradient(share, variables), variables))
        return loss

    @tf.function
    def step(iterator):
        photos, styles = next(iterator)
        losses_per_replica = strategy.run(replica_step, args=(photos, styles))
        return strategy.reduce(tf.distribute.ReduceOp.MEAN, losses_per_replica, axis=None)
    return step


def _jax_step_function(trainer, strategy):
    """The step as Keras' guide to custom training loops on JAX writes it: the network's
    and the optimizer's variables go in and come out as values (`stateless_call`,
    `stateless_apply`), in one `jax.jit` program; the new values are then assigned to
    the variables (on JAX an assignment replaces a reference; nothing is copied). With
    several devices the batch is sharded over them and the variables are replicated, so
    XLA sums the gradients over the devices inside the program."""
    import jax
    network, optimizer = trainer.transformer, trainer.optimizer

    def loss(trainable, non_trainable, photos, style):
        def transform(inputs):
            return network.stateless_call(trainable, non_trainable, inputs, training=True)[0]
        return trainer.batch_loss(photos, style, transform)

    value_and_gradient = jax.value_and_grad(loss)

    @jax.jit
    def update(trainable, non_trainable, optimizer_state, photos, style):
        value, gradients = value_and_gradient(trainable, non_trainable, photos, style)
        trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, gradients,
                                                               trainable)
        return value, trainable, optimizer_state

    def step(iterator):
        photos, styles = next(iterator)
        value, trainable, optimizer_state = update(
            [v.value for v in network.trainable_variables],
            [v.value for v in network.non_trainable_variables],
            [v.value for v in optimizer.variables], strategy.shard(photos),
            np.int32(styles[0]))
        for variable, new in zip(network.trainable_variables, trainable):
            variable.assign(new)
        for variable, new in zip(optimizer.variables, optimizer_state):
            variable.assign(new)
        return value
    return step


def _torch_step_function(trainer):
    """The step as Keras' guide to custom training loops on PyTorch writes it: the loss
    computed as PyTorch runs it, its gradients by autograd, and the optimizer's update
    applied outside the gradient's graph."""
    import torch
    network, optimizer = trainer.transformer, trainer.optimizer

    def step(iterator):
        photos, styles = next(iterator)
        loss = trainer.batch_loss(keras.ops.convert_to_tensor(photos), int(styles[0]))
        variables = network.trainable_variables
        gradients = torch.autograd.grad(loss, [variable.value for variable in variables])
        with torch.no_grad():
            optimizer.apply(gradients, variables)
        return loss.detach()
    return step
