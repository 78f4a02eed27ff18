"""What differs between Keras backends, in one place: compiling a loss with its gradient,
a loop that must run one step at a time, a sparse product that must stay in float64, and
a constant the compiler must not fold.

Every loss and model in the suite is written in `keras.ops`, so it runs on any backend
Keras 3 has (`KERAS_BACKEND`: tensorflow, the default, jax or torch). Four things Keras
does not abstract:
- the gradient of a function with respect to its input, compiled into one program
  (TensorFlow: `tf.function` + `GradientTape`; JAX: `jax.jit` of `jax.value_and_grad`;
  PyTorch: nothing compiled, `torch.autograd.grad`);
- a loop whose steps must not run side by side (the MRF patch search holds one score
  matrix at a time): TensorFlow's `while_loop` with `parallel_iterations=1`; JAX's
  `fori_loop` and PyTorch's Python loop run their steps in order anyway;
- the Matting Laplacian's product (`matting.photorealism_loss`), which must run in
  float64 (its entries reach 1/ε ~ 1e7 and cancel). TensorFlow has float64 sparse
  products on the device. JAX computes in float32 unless told otherwise globally, and
  Apple's GPU (PyTorch's "mps") has no float64, so on both the product runs on the host
  in SciPy (`jax.pure_callback`; a `torch.autograd.Function`): 196,608 rows of 25
  entries at 512x384, 3 channels, 12 ms a product on one core of a 2-core CPU (measured);
- a lookup of a constant table at constant positions (`style_losses`' quantile tables read
  at an output's levels): XLA evaluates it while compiling, a gather of tens of millions
  of values that took minutes on an H100 machine (measured); `unfolded` hides the table.

The on-device L-BFGS keeps its vectors on the device on all three: TensorFlow's
(`optimize._DeviceLBFGS`) and PyTorch's (`optimize._TorchDeviceLBFGS`) leave the loop to
the host, JAX's (`lbfgs_jax`) compiles whole iterations; all share the line search and
the compact Hessian's algebra, written once for NumPy and jax.numpy. CIN's training step
and its devices are `distribute`'s (tf.distribute; `keras.distribution` and a `jax.jit`
step; one device and an autograd step on PyTorch); its fast stylisation is
`cin_inference`'s (a TensorFlow rewrite, or the network under `jax.jit` or PyTorch).
"""

import keras
import numpy as np

BACKENDS = ("tensorflow", "jax", "torch")


def name():
    """The Keras backend in use ("tensorflow", "jax", ...)."""
    return keras.backend.backend()


def check_supported():
    """Raises a one-line ValueError when the Keras backend is one this suite does not run on."""
    if name() not in BACKENDS:
        raise ValueError(f"KERAS_BACKEND={name()}: this suite runs on "
                         f"{' or '.join(BACKENDS)}; set KERAS_BACKEND to one of them")


def loss_and_gradient_function(loss_fn, shape, dtype="float32"):
    """Compiles `loss_fn` into one program that returns its terms and d(total)/d(image).

    Args:
        loss_fn: image tensor (shape, dtype) -> dict of scalar terms with "total".
            Called only while tracing, so it may build any graph.
        shape: the image's shape.
        dtype: the image's dtype.

    Returns:
        A function image -> (terms dict of scalar tensors, gradient tensor), on the
        backend's device. It takes a NumPy array or a tensor of the backend.
    """
    check_supported()
    if name() == "jax":
        import jax
        compiled = jax.jit(jax_loss_and_gradient(loss_fn, dtype))
        return lambda image: compiled(jax.numpy.asarray(image, dtype))
    if name() == "torch":
        return _torch_loss_and_gradient(loss_fn, dtype)

    import tensorflow as tf

    # Traced without autograph: the losses are keras.ops, written to trace under jax.jit
    # too, so none branches on a tensor in Python; converting their calls took 1.4 s at
    # the start of every run (a 32 px run: 10.7 s, now 9.3 s).
    @tf.function(input_signature=[tf.TensorSpec(shape, dtype)], autograph=False)
    def loss_and_gradient(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = loss_fn(image)
        terms = {key: tf.convert_to_tensor(value, dtype) for key, value in terms.items()}
        return terms, tape.gradient(terms["total"], image)

    return loss_and_gradient


def jax_loss_and_gradient(loss_fn, dtype="float32"):
    """`loss_and_gradient_function`'s program under JAX, not yet compiled, for a caller
    that compiles it into a larger one (`lbfgs_jax`): image -> (terms, gradient)."""
    import jax

    def total_and_terms(image):
        terms = {key: keras.ops.cast(value, dtype) for key, value in loss_fn(image).items()}
        return terms["total"], terms

    value_and_grad = jax.value_and_grad(total_and_terms, has_aux=True)

    def loss_and_gradient(image):
        (_, terms), gradient = value_and_grad(image)
        return terms, gradient

    return loss_and_gradient


def _torch_loss_and_gradient(loss_fn, dtype):
    """`loss_and_gradient_function` under PyTorch: nothing is compiled (PyTorch runs
    each operation as it comes), and `torch.autograd.grad` gives the gradient."""
    import torch

    def loss_and_gradient(image):
        image = keras.ops.convert_to_tensor(image, dtype).detach().requires_grad_(True)
        terms = {key: keras.ops.cast(value, dtype) for key, value in loss_fn(image).items()}
        (gradient,) = torch.autograd.grad(terms["total"], image)
        return {key: value.detach() for key, value in terms.items()}, gradient

    return loss_and_gradient


def to_host(tree):
    """Every tensor of a nested structure as a NumPy value, in one wait for the device:
    JAX copies them all at once (one round trip where reading each would make one per
    tensor, each costing far more than a scalar's bytes on a GPU)."""
    if name() == "jax":
        import jax
        return jax.device_get(tree)
    if name() == "torch":  # Also off a GPU, and detached from the gradient's graph.
        return keras.tree.map_structure(keras.ops.convert_to_numpy, tree)
    return keras.tree.map_structure(np.asarray, tree)


def unfolded(constant):
    """`constant`, which the compiler may not fold into the operations that read it (JAX:
    `optimization_barrier`). TensorFlow's graph optimiser folds only constants below
    10 MB, so there it is `constant` itself."""
    if name() == "jax":
        import jax
        return jax.lax.optimization_barrier(keras.ops.convert_to_tensor(constant))
    return constant


def serial_loop(count, body, initial):
    """`body(i, state) -> state` for i = 0 .. count-1, one step at a time, in the graph.

    TensorFlow's `while_loop` may run up to ten iterations side by side, each holding its
    own temporaries; here they run one after the other.
    """
    if name() == "tensorflow":
        import tensorflow as tf
        _, state = tf.while_loop(lambda index, _: index < count,
                                 lambda index, state: (index + 1, body(index, state)),
                                 (tf.constant(0), initial), parallel_iterations=1)
        return state
    return keras.ops.fori_loop(0, count, body, initial)


def symmetric_quadratic_form(matrix, weight, scale):
    """The term w Σ_c v_cᵀ M v_c of the channels v_c = scale · x_c of an image x, and its
    gradient 2 w scale M v_c, with v and the product M V in float64 (M symmetric, SciPy
    sparse): x is exact in float32, scale · x is not.

    Args:
        matrix: (N, N) symmetric scipy.sparse matrix, N = H·W.
        weight: w.
        scale: the factor from the image's values to v.

    Returns:
        function (H, W, 3) image tensor -> scalar tensor.
    """
    check_supported()
    if name() == "jax":
        import jax
        import jax.numpy as jnp
        matrix = matrix.tocsr()

        def product_on_host(pixels):  # The image in, M V in float64, as float32 out.
            return (matrix @ (np.asarray(pixels, np.float64) * scale)).astype(np.float32)

        def product(pixels):
            return jax.pure_callback(
                product_on_host, jax.ShapeDtypeStruct(pixels.shape, jnp.float32), pixels)

        @jax.custom_vjp
        def term(values):
            return _term_forward(values)[0]

        def _term_forward(image):
            pixels = jnp.reshape(image, (-1, 3)).astype(jnp.float32)
            products = product(pixels)  # M V
            return weight * scale * jnp.sum(pixels * products), (products, image.shape)

        def _term_backward(saved, upstream):
            products, shape = saved
            return (jnp.reshape(2.0 * weight * scale * upstream * products, shape),)

        term.defvjp(_term_forward, _term_backward)
        return term

    if name() == "torch":
        return _torch_quadratic_form(matrix.tocsr(), weight, scale)

    import tensorflow as tf
    coo = matrix.tocoo()
    sparse = tf.sparse.reorder(tf.sparse.SparseTensor(
        np.stack([coo.row, coo.col], axis=1).astype(np.int64), coo.data.astype(np.float64),
        coo.shape))

    @tf.custom_gradient
    def term(image):
        channels = tf.reshape(tf.cast(image, tf.float64), (-1, 3)) * scale  # V as columns.
        products = tf.sparse.sparse_dense_matmul(sparse, channels)  # M V

        def gradient(upstream):
            scaled = tf.cast(upstream, tf.float64) * weight * 2.0 * scale
            return tf.cast(tf.reshape(scaled * products, tf.shape(image)), image.dtype)

        return tf.cast(weight * tf.reduce_sum(channels * products), image.dtype), gradient

    return term


def _torch_quadratic_form(matrix, weight, scale):
    """`symmetric_quadratic_form` under PyTorch: the product on the host in SciPy, as
    under JAX (Apple's GPU has no float64 at all)."""
    import torch

    class Term(torch.autograd.Function):
        @staticmethod
        def forward(context, image):
            channels = image.detach().reshape(-1, 3).cpu().double().numpy() * scale  # V
            products = matrix @ channels  # M V, float64
            # Kept on the host in float64; the gradient goes to the device as the image's dtype.
            context.products = torch.from_numpy(products)
            context.like = image.shape, image.device, image.dtype
            return torch.tensor(weight * float(np.sum(channels * products)),
                                dtype=image.dtype, device=image.device)

        @staticmethod
        def backward(context, upstream):
            shape, device, dtype = context.like
            gradient = 2.0 * weight * scale * float(upstream) * context.products
            return gradient.reshape(shape).to(device, dtype)

    return Term.apply
