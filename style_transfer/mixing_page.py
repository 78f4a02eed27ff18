"""A local page that mixes the styles of a CIN network live: one slider per style.

V. Dumoulin, J. Shlens, M. Kudlur, "A Learned Representation for Artistic Style", ICLR
2017 (arXiv:1610.07629), Sec. 4.2 and the Magenta demo: the network T(x, w) takes a
style-weight vector w, and a convex w mixes the styles' conditional instance norm
parameters, γ = Σ_s w_s γ_s, β = Σ_s w_s β_s. The page gives one slider per style; the
slider values v_s, normalised, are w_s = v_s / Σ_t v_t (shown as percentages), and the
preview follows the sliders. The page itself is `mixing_page.html`: no external script,
font or stylesheet, so it works offline.

Endpoints (errors are JSON {"error": "one line"} with a 4xx status):

    GET  /                   the page
    GET  /api/info           the styles, the photos to pick from, the limits, and the
                             loss network's weights in training (random: say so)
    GET  /api/content/NAME   a photo of the content folder, by a name /api/info listed
    POST /api/upload         body: an image file -> {"content": "upload:ID"}
    POST /api/preview        {"content", "weights", "session", "sequence"} -> JPEG at
                             the preview size; 204 if a newer request of the same
                             session arrived meanwhile (stale: dropped unrun)
    POST /api/render         {"content", "weights"} -> {"image", "report"} URLs: the
                             full-size image, written atomically, and its run report
    GET  /renders/NAME       a render of this server's, or its report

Why the preview never lags: the page keeps one preview request in flight and remembers
only the latest slider state meanwhile, sent when the reply comes; the server runs one
forward pass at a time and drops, unrun, any preview that a newer one of its session
has overtaken. So the image shown is at most one forward pass behind the sliders.

Safety: it binds 127.0.0.1 unless told otherwise. Uploads are limited in bytes and in
pixels (read from the header before decoding, so decompression bombs are refused) and
are kept in memory under a hash, never written under a client's name. Files are served
only by names the server listed itself (the content folder's images, this run's
renders), so no path, with `..` or absolute, reaches anything else. A bad request gets a
4xx status and one line, logged as one line; the server goes on.
"""

import collections
import dataclasses
import hashlib
import http.server
import io
import json
import pathlib
import sys
import tempfile
import threading
import time
import urllib.parse

import numpy as np
from PIL import Image

from style_transfer import cin_folders, cin_inference, files, images, reporting
from style_transfer.parameters import ArgumentError

PAGE = pathlib.Path(__file__).with_name("mixing_page.html")
PREVIEW_SIZE = 256  # Longest side of the live preview (the speed goal's size).
RENDER_SIZE = 1024  # Longest side of a render, unless the server is told otherwise.
MAX_UPLOAD_BYTES = 20 << 20
MAX_UPLOAD_PIXELS = 40_000_000  # A 40-megapixel photo; bombs claim far more.
MAX_REQUEST_BYTES = 64 << 10  # JSON requests.
KEPT_CONTENTS = 16  # Photos kept decoded (about 13 MB each at 1024 px), latest used.
KEPT_SESSIONS = 1024


class RequestError(Exception):
    """A request refused: the HTTP status and one line for the client and the log."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@dataclasses.dataclass
class Content:
    """A photo to stylise: at render size, and at preview size."""
    name: str
    full: np.ndarray
    preview: np.ndarray
    original_size: tuple  # (width, height) as given.


class StyleMixer:
    """What the page's requests do, apart from HTTP: pick or upload a photo, preview a
    mix, render it. Thread-safe: forward passes take turns (they use every core)."""

    def __init__(self, network, model_path, *, content_dir=None, output_dir="renders",
                 preview_size=PREVIEW_SIZE, render_size=RENDER_SIZE, precision="auto",
                 max_upload_bytes=MAX_UPLOAD_BYTES, max_upload_pixels=MAX_UPLOAD_PIXELS):
        """
        Args:
            network: a `cin.StyleNetwork`.
            model_path: its file (hashed for the reports).
            content_dir: a folder (or glob) of photos to pick from, or None.
            output_dir: where renders and their reports go (created at the first).
            preview_size, render_size: longest sides (None: a render keeps the photo's).
            precision: the `Stylizer`'s (`cin_inference.PRECISIONS`).
            max_upload_bytes, max_upload_pixels: an upload's limits.
        """
        self.network, self.model_path = network, str(model_path)
        self.model_sha256 = files.sha256(model_path)
        self.photos = ({path.name: path for path in cin_folders.input_paths(content_dir)}
                       if content_dir else {})
        self.output_dir = files.make_folder(output_dir, "output_dir", create=False)
        self.preview_size, self.render_size = preview_size, render_size
        self.max_upload_bytes, self.max_upload_pixels = max_upload_bytes, max_upload_pixels
        self.stylizer = network.stylizer(precision)
        self.contents = collections.OrderedDict()  # key -> Content, most recent last.
        self.renders = set()  # File names this server wrote: the only ones it serves.
        self.newest = collections.OrderedDict()  # session -> newest sequence seen.
        self._forward = threading.Lock()  # One forward pass at a time.
        self._state = threading.Lock()  # The dictionaries above.

    def info(self):
        """What the page needs to draw itself."""
        weights = self.network.vgg_weights
        source = weights.get("source") if isinstance(weights, dict) else None
        return {"styles": self.network.style_names, "photos": sorted(
                    self.photos, key=cin_folders.natural_key),
                "model": pathlib.Path(self.model_path).name, "vgg_weights": source,
                "random_weights": source == "random", "preview_size": self.preview_size,
                "render_size": self.render_size, "max_upload_bytes": self.max_upload_bytes}

    def photo_file(self, name):
        """The path of a content-folder photo, by its listed name only."""
        if name not in self.photos:
            raise RequestError(404, f"{name!r}: no such photo in the content folder")
        return self.photos[name]

    def upload(self, data):
        """Keeps an uploaded image (bytes) in memory; returns its content key."""
        if len(data) > self.max_upload_bytes:
            raise RequestError(413, f"the upload is {len(data):,} bytes, more than the "
                                    f"{self.max_upload_bytes:,} allowed")
        key = "upload:" + hashlib.sha256(data).hexdigest()[:16]
        with tempfile.TemporaryDirectory() as folder:  # Pillow reads files; ours alone.
            path = pathlib.Path(folder) / "upload"
            path.write_bytes(data)
            try:
                photo = images.load(path, max_pixels=self.max_upload_pixels)
            except ValueError as error:
                message = str(error).replace(f"{path}: ", "").replace(str(path), "upload")
                status = 413 if "pixels, more than" in message else 415
                raise RequestError(status, f"the upload: {message}") from None
        self._keep(key, photo, "upload")
        return key

    def content(self, key):
        """The `Content` for a key from `info` ("photo:NAME") or `upload`."""
        if not isinstance(key, str):
            raise RequestError(400, "content: give a photo's or an upload's key")
        with self._state:
            if key in self.contents:
                self.contents.move_to_end(key)
                return self.contents[key]
        if key.startswith("photo:"):
            path = self.photo_file(key[len("photo:"):])
            try:
                photo = images.load(path, max_pixels=self.max_upload_pixels)
            except ValueError as error:
                raise RequestError(422, str(error)) from None
            return self._keep(key, photo, path.name)
        raise RequestError(404, f"{key[:80]!r}: no such content (an upload is kept while "
                                f"it is among the {KEPT_CONTENTS} photos used last; "
                                f"upload it again)")

    def _keep(self, key, photo, name):
        full = photo
        if self.render_size and max(photo.shape[:2]) > self.render_size:
            full = images.resize_longest_side(photo, self.render_size)
        preview = (images.resize_longest_side(photo, self.preview_size)
                   if max(photo.shape[:2]) > self.preview_size else photo)
        content = Content(name, full, preview, (photo.shape[1], photo.shape[0]))
        with self._state:
            self.contents[key] = content
            while len(self.contents) > KEPT_CONTENTS:  # A folder's photo is read again.
                self.contents.popitem(last=False)
        return content

    def weights(self, request):
        """The normalised style-weight vector w from a request's slider values."""
        values = request.get("weights")
        if not isinstance(values, list) or len(values) != self.network.num_styles or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise RequestError(400, f"weights: give {self.network.num_styles} numbers, one "
                                    f"per style")
        try:
            return self.network.style_weights(values)
        except ArgumentError as error:
            raise RequestError(400, f"weights: {error.detail}") from None

    def preview(self, request):
        """JPEG bytes of the mix at the preview size, or None when a newer preview of the
        same session has arrived (the stale one is dropped without running)."""
        content, weights = self.content(request.get("content")), self.weights(request)
        session, sequence = request.get("session", ""), request.get("sequence", 0)
        if not isinstance(session, str) or len(session) > 64 or not isinstance(
                sequence, int) or isinstance(sequence, bool):
            raise RequestError(400, "session: give a short string; sequence: an integer")
        with self._state:
            self.newest[session] = max(self.newest.get(session, sequence), sequence)
            self.newest.move_to_end(session)
            while len(self.newest) > KEPT_SESSIONS:
                self.newest.popitem(last=False)
        with self._forward:
            with self._state:
                if sequence < self.newest.get(session, sequence):
                    return None
            image = cin_inference.stylize_image(self.stylizer, content.preview, weights)
        buffer = io.BytesIO()
        Image.fromarray(images.to_uint8(image)).save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    def render(self, request):
        """The mix at full size, written atomically with its report; their names."""
        content, weights = self.content(request.get("content")), self.weights(request)
        start = time.perf_counter()
        with self._forward:
            image = cin_inference.stylize_image(self.stylizer, content.full, weights)
        seconds = time.perf_counter() - start
        files.make_folder(self.output_dir, "output_dir")
        mix = "_".join(f"{round(100 * w)}" for w in weights)
        with self._state:
            stem = f"render_{time.strftime('%Y%m%d_%H%M%S')}_{mix}"
            for number in range(1, 10 ** 6):
                name = f"{stem}_{number}"
                if f"{name}.png" not in self.renders and not (
                        self.output_dir / f"{name}.png").exists():
                    break
            self.renders.update((f"{name}.png", f"{name}.json"))
        images.save(image, self.output_dir / f"{name}.png")
        files.write_json(self.output_dir / f"{name}.json", {
            "technique": "cin_serve", "model": self.model_path,
            "model_sha256": self.model_sha256, "vgg_weights": self.network.vgg_weights,
            "styles": self.network.style_names, "style_weights": weights,
            "mix": dict(zip(self.network.style_names, weights)),
            "content": content.name, "content_size": list(content.original_size),
            "output_size": [image.shape[1], image.shape[0]],
            "precision": self.stylizer.precision, "seconds": seconds,
            "image": str(self.output_dir / f"{name}.png"), "versions": reporting.versions()})
        return {"image": f"/renders/{name}.png", "report": f"/renders/{name}.json",
                "width": image.shape[1], "height": image.shape[0], "seconds": seconds}

    def render_file(self, name):
        """A file this server rendered, by its name only."""
        if name not in self.renders:
            raise RequestError(404, f"{name!r}: no such render")
        return self.output_dir / name


class _Handler(http.server.BaseHTTPRequestHandler):
    """HTTP for a `StyleMixer` (the server's `mixer`): routes, limits, one-line errors."""

    server_version = "cin_serve"
    protocol_version = "HTTP/1.1"
    timeout = 30  # Seconds a client may take to send a request: slow ones are dropped.
    # Headers and body go out as two writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK (40 ms, a third of a preview).
    disable_nagle_algorithm = True

    def do_GET(self):
        self._respond(self._get)

    def do_POST(self):
        self._respond(self._post)

    def _get(self, path):
        mixer = self.server.mixer
        if path in ("/", "/index.html"):
            return 200, "text/html; charset=utf-8", PAGE.read_bytes()
        if path == "/api/info":
            return _json(200, mixer.info())
        if path.startswith("/api/content/"):
            file = mixer.photo_file(urllib.parse.unquote(path[len("/api/content/"):]))
            return 200, _content_type(file), file.read_bytes()
        if path.startswith("/renders/"):
            file = mixer.render_file(urllib.parse.unquote(path[len("/renders/"):]))
            return 200, _content_type(file), file.read_bytes()
        raise RequestError(404, f"{path[:80]}: no such page")

    def _post(self, path):
        mixer = self.server.mixer
        if path == "/api/upload":
            return _json(200, {"content": mixer.upload(self._body(mixer.max_upload_bytes))})
        if path == "/api/preview":
            jpeg = mixer.preview(self._json_body())
            return (204, None, b"") if jpeg is None else (200, "image/jpeg", jpeg)
        if path == "/api/render":
            return _json(200, mixer.render(self._json_body()))
        raise RequestError(404, f"{path[:80]}: no such endpoint")

    def _body(self, limit):
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(411, "give a Content-Length")
        if not length.strip().isdigit():
            raise RequestError(400, f"Content-Length {length[:20]!r}: not a number")
        if int(length) > limit:
            self._discard(int(length), limit)
            raise RequestError(413, f"the request is {int(length):,} bytes, more than the "
                                    f"{limit:,} allowed")
        data = self.rfile.read(int(length))
        if len(data) < int(length):
            raise RequestError(400, "the body ended before its Content-Length")
        return data

    def _discard(self, length, limit):
        """Reads and drops a refused body of a few times the limit, so that the client,
        still sending, reads the refusal; a larger one ends the connection unread."""
        if length > 4 * limit:
            self.close_connection = True
            return
        while length > 0 and (chunk := self.rfile.read(min(length, 1 << 16))):
            length -= len(chunk)

    def _json_body(self):
        try:
            request = json.loads(self._body(MAX_REQUEST_BYTES))
        except (ValueError, UnicodeDecodeError):
            raise RequestError(400, "the body is not JSON") from None
        if not isinstance(request, dict):
            raise RequestError(400, "the body is not a JSON object")
        return request

    def _respond(self, route):
        path = urllib.parse.urlsplit(self.path).path
        try:
            status, content_type, body = route(path)
        except RequestError as error:
            status, content_type, body = _json(error.status, {"error": error.message})
            self._log(error.status, error.message)
        except Exception as error:  # A bug: one line, and the server goes on.
            message = f"internal error: {type(error).__name__}: {error}".splitlines()[0]
            status, content_type, body = _json(500, {"error": message})
            self._log(500, message)
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # The client left (a closed tab): nothing to say.

    def send_error(self, code, message=None, explain=None):
        """Requests that do not parse (a bad request line, a bad header): one JSON line."""
        text = message or self.responses.get(code, ("error",))[0]
        self._log(code, text)
        body = json.dumps({"error": text}).encode()
        self.close_connection = True
        self.request_version = self.protocol_version  # A status line even for nonsense.
        try:
            self.send_response_only(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass  # The client has gone.

    def log_request(self, code="-", size="-"):
        pass  # Successes are not logged (previews come ten a second); refusals are.

    def _log(self, status, message):
        request = (self.requestline or "").replace("\n", " ")[:120]
        print(f"cin_serve: {self.client_address[0]} \"{request}\" {status}: {message}",
              file=sys.stderr, flush=True)


def _json(status, value):
    return status, "application/json", json.dumps(value).encode()


def _content_type(path):
    return {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".json": "application/json", ".webp": "image/webp", ".bmp": "image/bmp",
            ".tif": "image/tiff", ".tiff": "image/tiff"}.get(path.suffix.lower(),
                                                            "application/octet-stream")


class MixingServer(http.server.ThreadingHTTPServer):
    """The page's HTTP server: a thread per connection, `mixer` behind every request."""

    daemon_threads = True

    def __init__(self, mixer, host="127.0.0.1", port=8000):
        """Binds (host, port); port 0 takes any free port (see `url`).

        Raises:
            ArgumentError (names host or port): the address cannot be bound.
        """
        self.mixer = mixer
        if not host.strip():  # "" would listen on every network: say so instead.
            raise ArgumentError("host", "empty; give an address: 127.0.0.1 (this machine "
                                        "only) or 0.0.0.0 (every network it is on)")
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise ArgumentError("port", f"{host}:{port}: cannot listen there "
                                        f"({error.strerror or error}); give another "
                                        f"port or host") from None

    def handle_error(self, request, client_address):
        """What escapes a handler (a connection dropped mid-request): one line, no
        traceback; the server goes on."""
        error = sys.exc_info()[1]
        print(f"cin_serve: {client_address[0]}: {type(error).__name__}: {error}"
              .splitlines()[0], file=sys.stderr, flush=True)

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"
