"""How live the style-mixing page is: previews per second and slider-to-preview latency.

The paper's network (32 base filters, 5 residual blocks) with three styles (random,
trained-looking γ and β), a 256 px preview of a 256x192 photo, served by cin_serve's
server in this process, at the precision cin_serve picks here (auto):
  - http: one client asking for a new mix as soon as the last preview arrived, over
    HTTP with the standard library's client (JSON in, JPEG out): previews per second
    and the latency of each (request sent to JPEG received);
  - browser (when Chromium, chromedriver and selenium are installed): the real page in
    headless Chromium; a script moves a slider one step every 20 ms (faster than the
    previews come, as a dragging hand does) for --seconds seconds; previews shown per
    second, and the page's own latency from a slider change to the image that includes
    it being drawn (`window.previewLatencies`).

Goal (issue 20): at least 8 previews per second at 256 px on two CPU cores.

Usage:
    python benchmarks/mixing_page.py --output benchmarks/results/mixing_page.json
"""

import http.client
import json
import pathlib
import shutil
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from style_transfer import cli  # noqa: E402,F401  (first: quiets TensorFlow)
from style_transfer import cin, cin_network, files, mixing_page  # noqa: E402
from benchmarks.common import image_paths, write_results  # noqa: E402

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

_PREVIEWS = flags.DEFINE_integer("previews", 40, "Timed HTTP previews.", lower_bound=1)
_SECONDS = flags.DEFINE_float("seconds", 8.0, "Seconds of slider dragging in the browser.")
_OUTPUT = flags.DEFINE_string("output", None, "Write the figures here as JSON.")


def http_previews(server, count):
    """(previews per second, latencies in ms) of back-to-back previews of new mixes."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    latencies = []
    for k in range(count + 2):
        body = json.dumps({"content": "photo:" + server.mixer.info()["photos"][0],
                           "weights": [100, k % 100, 100 - k % 100], "session": "bench",
                           "sequence": k})
        start = time.perf_counter()
        connection.request("POST", "/api/preview", body=body)
        response = connection.getresponse()
        assert response.status == 200, response.read()
        response.read()
        latencies.append(1000 * (time.perf_counter() - start))
    connection.close()
    timed = latencies[2:]  # The first two trace the stylizer at this size.
    return 1000 * len(timed) / sum(timed), timed


def browser_previews(server, seconds):
    """(previews shown per second, the page's latencies in ms) while a slider moves."""
    try:
        from selenium import webdriver
    except ImportError:
        return None, "selenium is not installed"
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return None, "Chromium or chromedriver is not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path),
                              options=options)
    try:
        driver.get(server.url)
        deadline = time.time() + 60
        while not driver.execute_script("return window.previewsShown") and time.time() < deadline:
            time.sleep(0.1)
        driver.execute_script("""
            window.previewLatencies = []; window.previewsShown = 0;
            const slider = document.getElementById("style-1"); let k = 0;
            window.dragging = setInterval(() => {
              slider.value = (k++ % 100) + 1;
              slider.dispatchEvent(new Event("input"));
            }, 20);""")
        time.sleep(seconds)
        shown, latencies = driver.execute_script(
            "clearInterval(window.dragging); return [window.previewsShown, "
            "window.previewLatencies];")
        return shown / seconds, latencies
    finally:
        driver.quit()


def summary(latencies):
    values = np.asarray(latencies, float)
    return {"median_ms": float(np.median(values)), "p90_ms": float(np.percentile(values, 90)),
            "count": int(values.size)}


def main(argv):
    del argv  # Unused.
    rng = np.random.default_rng(0)
    network = cin_network.transformer_network(3)
    for variable in network.weights:
        if variable.name in ("gamma", "beta"):
            variable.assign(rng.normal(float(variable.name == "gamma"), 0.3, variable.shape))
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        cin.StyleNetwork(network).save(folder / "model.keras")
        files.write_json(folder / "state.json", {"styles": ["a", "b", "c"]})
        (folder / "photos").mkdir()
        shutil.copy(image_paths()[0], folder / "photos")
        mixer = mixing_page.StyleMixer(cin.StyleNetwork.load(folder / "model.keras"),
                                       folder / "model.keras", content_dir=folder / "photos",
                                       output_dir=folder / "renders")
        server = mixing_page.MixingServer(mixer, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        preview_shape = list(mixer.content("photo:" + mixer.info()["photos"][0]).preview.shape)
        rate, latencies = http_previews(server, _PREVIEWS.value)
        print(f"http: {rate:.2f} previews/s at {preview_shape[1]}x{preview_shape[0]}, "
              f"median latency {np.median(latencies):.0f} ms", flush=True)
        results = {"precision": mixer.stylizer.precision, "preview_shape": preview_shape,
                   "http": {"previews_per_second": rate, **summary(latencies)}}
        shown, page_latencies = browser_previews(server, _SECONDS.value)
        if shown is None:
            print(f"browser: skipped ({page_latencies})")
            results["browser"] = {"skipped": page_latencies}
        else:
            results["browser"] = {"previews_per_second": shown, **summary(page_latencies)}
            print(f"browser: {shown:.2f} previews shown/s while dragging, median "
                  f"slider-to-preview latency {np.median(page_latencies):.0f} ms "
                  f"(90%: {np.percentile(page_latencies, 90):.0f} ms)", flush=True)
        server.shutdown()
        server.server_close()
    write_results(_OUTPUT.value, results)


if __name__ == "__main__":
    app.run(main)
