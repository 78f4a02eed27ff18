"""The style-mixing server over HTTP (the standard library's client): endpoints, what a
preview and a render are, limits, hostile paths and requests, concurrency, stale drops."""

import concurrent.futures
import hashlib
import http.client
import io
import json
import socket
import struct
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

from style_transfer import cin, cin_inference, cin_network, files, images, mixing_page


def tiny_network(seed=0):
    """Two styles that differ: γ and β drawn at random, as after training."""
    network = cin_network.transformer_network(2, base_filters=4, num_residual_blocks=1, seed=seed)
    rng = np.random.default_rng(seed)
    for variable in network.weights:
        if variable.name in ("gamma", "beta"):
            variable.assign(rng.normal(float(variable.name == "gamma"), 0.5, variable.shape))
    return network


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A server on a free port over a saved model, two photos, and a secret beside them."""
    root = tmp_path_factory.mktemp("site")
    (root / "run").mkdir()
    cin.StyleNetwork(tiny_network()).save(root / "run" / "model.keras")
    files.write_json(root / "run" / "state.json", {
        "step": 3, "styles": ["waves.jpg", "stars.jpg"],
        "vgg_weights": {"source": "random", "path": None, "sha256": None, "seed": 0}})
    (root / "photos").mkdir()
    rng = np.random.default_rng(1)
    for name, shape in (("b.png", (60, 80)), ("a.png", (300, 200))):
        Image.fromarray(rng.integers(0, 255, (*shape, 3), dtype=np.uint8)).save(
            root / "photos" / name)
    (root / "secret.txt").write_text("do not serve me")
    network = cin.StyleNetwork.load(root / "run" / "model.keras")
    mixer = mixing_page.StyleMixer(network, root / "run" / "model.keras",
                                   content_dir=root / "photos", output_dir=root / "renders",
                                   preview_size=64, render_size=128, precision="float32",
                                   max_upload_bytes=200_000, max_upload_pixels=1_000_000)
    server = mixing_page.MixingServer(mixer, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, server
    server.shutdown()
    server.server_close()


def request(server, method, path, body=None, headers=None):
    """(status, content type, body bytes) of one request on a new connection."""
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=60)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def raw(server, data):
    """Sends bytes as they are; the server's reply (status line and all)."""
    with socket.create_connection(server.server_address[:2], timeout=30) as connection:
        connection.sendall(data)
        connection.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return reply


def decoded(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)


def png_claiming(width, height):
    """A PNG whose header claims width x height, with one tiny compressed row: what a
    decompression bomb looks like before it is decoded."""
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def test_info_names_the_styles_photos_and_random_weights(site):
    root, server = site
    status, kind, body = request(server, "GET", "/api/info")
    info = json.loads(body)
    assert (status, kind) == (200, "application/json")
    assert info["styles"] == ["waves.jpg", "stars.jpg"] and info["random_weights"] is True
    assert info["photos"] == ["a.png", "b.png"] and info["model"] == "model.keras"
    status, kind, page = request(server, "GET", "/")
    assert status == 200 and kind.startswith("text/html")
    assert b"<input" in page and b"http" not in page.replace(b"http://www.w3.org", b"")
    status, _, photo = request(server, "GET", "/api/content/b.png")
    assert status == 200 and photo == (root / "photos" / "b.png").read_bytes()


def test_a_preview_is_the_network_on_the_photo_at_the_preview_size(site):
    root, server = site
    mixer = server.mixer
    status, kind, body = request(server, "POST", "/api/preview", {
        "content": "photo:a.png", "weights": [30, 10], "session": "p", "sequence": 1})
    assert (status, kind) == (200, "image/jpeg")
    preview = decoded(body)
    assert preview.shape == (64, 43, 3)  # 300x200 photo: longest side 64.
    photo = images.resize_longest_side(images.load(root / "photos" / "a.png"), 64)
    expected = cin_inference.stylize_image(mixer.stylizer, photo, [0.75, 0.25])
    buffer = io.BytesIO()  # The preview is a JPEG: compare JPEG with JPEG.
    Image.fromarray(np.clip(np.round(expected), 0, 255).astype(np.uint8)).save(
        buffer, format="JPEG", quality=90)
    assert np.abs(preview - decoded(buffer.getvalue())).mean() < 1
    other = decoded(request(server, "POST", "/api/preview", {
        "content": "photo:a.png", "weights": [0, 1], "session": "p", "sequence": 2})[2])
    assert np.abs(other - preview).mean() > 10  # Another mix, another picture.


def test_render_writes_the_image_and_its_report_and_serves_them(site):
    root, server = site
    status, _, body = request(server, "POST", "/api/render",
                              {"content": "photo:a.png", "weights": [1, 3]})
    result = json.loads(body)
    assert status == 200 and (result["width"], result["height"]) == (85, 128)
    status, kind, png = request(server, "GET", result["image"])
    name = result["image"].split("/")[-1]
    assert (status, kind) == (200, "image/png") and png == (root / "renders" / name).read_bytes()
    report = json.loads(request(server, "GET", result["report"])[2])
    model = root / "run" / "model.keras"
    assert report["model_sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert report["mix"] == {"waves.jpg": 0.25, "stars.jpg": 0.75}
    assert (report["content"], report["content_size"], report["output_size"]) == (
        "a.png", [200, 300], [85, 128])
    assert report["vgg_weights"]["source"] == "random"
    assert not [p for p in (root / "renders").iterdir() if p.name.startswith(".")]  # Atomic.


def test_uploads_are_previewed_and_bad_ones_refused_in_one_line(site, capfd):
    root, server = site
    photo = np.random.default_rng(2).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="PNG")
    status, _, body = request(server, "POST", "/api/upload", buffer.getvalue())
    content = json.loads(body)["content"]
    assert status == 200 and content.startswith("upload:")
    status, _, jpeg = request(server, "POST", "/api/preview", {
        "content": content, "weights": [1, 1], "session": "u", "sequence": 1})
    assert status == 200 and decoded(jpeg).shape == (40, 50, 3)  # Smaller than 64: kept.
    capfd.readouterr()
    for data, expected_status, words in (
            (b"GIF89a not really", 415, "not an image"),
            (b"", 415, "empty"),
            (png_claiming(60000, 60000), 413, "3,600,000,000 pixels, more than the "
                                              "1,000,000 allowed"),
            (b"x" * 200_001, 413, "more than the 200,000 allowed")):
        status, kind, body = request(server, "POST", "/api/upload", data)
        error = json.loads(body)["error"]
        assert (status, kind) == (expected_status, "application/json"), error
        assert words in error and "\n" not in error and "Traceback" not in error
    log = capfd.readouterr().err.strip().splitlines()
    assert len(log) == 4 and all(line.startswith("cin_serve: 127.0.0.1 \"POST /api/upload")
                                 for line in log)


@pytest.mark.parametrize("body, words", [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (json.dumps({"content": "photo:a.png", "weights": [1]}).encode(), "give 2 numbers"),
    (json.dumps({"content": "photo:a.png", "weights": [0, 0]}).encode(), "not all 0"),
    (json.dumps({"content": "photo:a.png", "weights": [-1, 2]}).encode(), "weights >= 0"),
    (b'{"content": "photo:a.png", "weights": [NaN, 1]}', "weights"),
    (json.dumps({"content": "photo:a.png", "weights": ["1", 1]}).encode(), "give 2 numbers"),
    (json.dumps({"content": 7, "weights": [1, 1]}).encode(), "content"),
    (json.dumps({"content": "upload:feedfeedfeedfeed", "weights": [1, 1]}).encode(),
     "upload it again"),
    (json.dumps({"content": "photo:a.png", "weights": [1, 1], "sequence": "x"}).encode(),
     "sequence"),
])
def test_malformed_previews_get_400s_and_the_server_goes_on(site, body, words):
    _, server = site
    status, _, reply = request(server, "POST", "/api/preview", body)
    assert status in (400, 404) and words in json.loads(reply)["error"]
    assert request(server, "GET", "/api/info")[0] == 200


def test_requests_that_do_not_parse_are_refused_without_a_traceback(site):
    _, server = site
    for data, status in ((b"NONSENSE\r\n\r\n", b"400"), (b"GET / HTTP/9.9\r\n\r\n", b"505"),
                         (b"PUT /api/info HTTP/1.1\r\nHost: x\r\n\r\n", b"501"),
                         (b"POST /api/preview HTTP/1.1\r\nHost: x\r\n\r\n", b"411"),
                         (b"POST /api/preview HTTP/1.1\r\nContent-Length: -3\r\n\r\n", b"400"),
                         (b"POST /api/render HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
                          b"413"),
                         (b"POST /api/preview HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"a\"",
                          b"400")):
        reply = raw(server, data)
        assert reply.split(b" ")[1] == status, reply
        assert b"Traceback" not in reply and b"<html" not in reply.lower()
    assert request(server, "GET", "/api/info")[0] == 200


@pytest.mark.parametrize("path", [
    "/api/content/../secret.txt", "/api/content/..%2Fsecret.txt", "/api/content/%2E%2E/secret.txt",
    "/api/content/../../run/model.keras", "/api/content/%2Fetc%2Fpasswd", "/api/content//etc/passwd",
    "/renders/../secret.txt", "/renders/%2E%2E%2Fsecret.txt", "/renders/%2Fetc%2Fpasswd",
    "/../secret.txt", "//etc/passwd", "/secret.txt", "/api/content/", "/renders/",
])
def test_no_path_reaches_outside_the_servers_own_files(site, path):
    root, server = site
    status, _, body = request(server, "GET", path)
    assert status == 404 and b"do not serve me" not in body and b"root:" not in body
    absolute = "/api/content/" + str(root / "secret.txt")
    assert request(server, "GET", absolute)[0] == 404
    status, _, body = request(server, "POST", "/api/preview", {
        "content": "photo:../secret.txt", "weights": [1, 1]})
    assert status == 404 and b"do not serve me" not in body


def test_twenty_parallel_previews_are_all_answered(site):
    _, server = site

    def preview(k):
        return request(server, "POST", "/api/preview", {
            "content": "photo:b.png", "weights": [k, 20 - k], "session": f"s{k}",
            "sequence": 1})

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(preview, range(20)))
    assert [status for status, _, _ in replies] == [200] * 20
    shapes = {decoded(body).shape for _, _, body in replies}
    assert shapes == {(48, 64, 3)}
    assert len({hashlib.sha256(body).hexdigest() for _, _, body in replies}) == 20


def test_a_preview_overtaken_by_a_newer_one_is_dropped_unrun(site):
    _, server = site
    mixer = server.mixer
    replies = {}

    def preview(sequence):
        replies[sequence] = request(server, "POST", "/api/preview", {
            "content": "photo:b.png", "weights": [1, sequence], "session": "slider",
            "sequence": sequence})

    with mixer._forward:  # A forward pass is running: both requests wait.
        threads = [threading.Thread(target=preview, args=(k,)) for k in (1, 2)]
        threads[0].start()
        while mixer.newest.get("slider") != 1:
            threading.Event().wait(0.01)
        threads[1].start()
        while mixer.newest.get("slider") != 2:
            threading.Event().wait(0.01)
    for thread in threads:
        thread.join()
    assert replies[1][0] == 204 and replies[1][2] == b""
    assert replies[2][0] == 200


def test_a_server_that_cannot_start_says_why_naming_the_argument(site, tmp_path):
    """A file where renders go, an empty host (which would listen on every network) and a
    port in use are refused before the server listens."""
    root, server = site
    model = root / "run" / "model.keras"
    network = cin.StyleNetwork.load(model)
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(mixing_page.ArgumentError, match="output_dir: .*taken: is a file"):
        mixing_page.StyleMixer(network, model, output_dir=tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "a file"
    mixer = mixing_page.StyleMixer(network, model, output_dir=tmp_path / "renders")
    assert not (tmp_path / "renders").exists()  # Made by the first render, not before.
    with pytest.raises(mixing_page.ArgumentError, match="host: empty; give an address"):
        mixing_page.MixingServer(mixer, " ", 0)
    with pytest.raises(mixing_page.ArgumentError, match="port: 127.0.0.1:.*cannot listen"):
        mixing_page.MixingServer(mixer, "127.0.0.1", server.server_address[1])


def test_the_script_serves_until_ctrl_c(site, tmp_path):
    import signal
    import subprocess
    import sys
    root, _ = site
    process = subprocess.Popen(
        [sys.executable, str(mixing_page.PAGE.parents[1] / "scripts" / "cin_serve.py"),
         "--model", str(root / "run" / "model.keras"), "--port", "0",
         "--output_dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        line = process.stdout.readline()
        assert "random VGG19 weights" in line, process.stderr.read() if not line else line
        url = line.split("open ")[1].split()[0]
        host, port = url.split("//")[1].rstrip("/").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("GET", "/api/info")
        assert json.loads(connection.getresponse().read())["photos"] == []
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and "Traceback" not in err, err
