"""The style-mixing page in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by selenium. It loads the page, moves a slider with the
keyboard, waits for the preview to change, and checks the pixels changed and no error
shows; on a network with random weights, and on the one that ships in models/, whose
page is the README's screenshot (set MIXING_SCREENSHOT=path to keep it).

Skipped, with the reason, where Chromium, its driver or selenium is missing (`.ci/run`
installs them)."""

import os
import pathlib
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

from style_transfer import cin, cin_network, files, mixing_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "three_paintings" / "model.keras"
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install -e '.[test]')")
if not (CHROMIUM and DRIVER):
    pytest.skip("Chromium or chromedriver is not installed (Debian: apt-get install "
                "chromium chromium-driver)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# The preview's pixels as the browser decoded them: drawn on a canvas and read back.
READ_PIXELS = """
const image = document.getElementById("preview");
if (!image.complete || !image.naturalWidth) return null;
const canvas = document.createElement("canvas");
canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
const context = canvas.getContext("2d");
context.drawImage(image, 0, 0);
return Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data);
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    network = cin_network.transformer_network(3, base_filters=8, num_residual_blocks=2, seed=3)
    rng = np.random.default_rng(3)
    for variable in network.weights:  # Three styles that differ, as after training.
        if variable.name in ("gamma", "beta"):
            variable.assign(rng.normal(float(variable.name == "gamma"), 0.5, variable.shape))
    cin.StyleNetwork(network).save(root / "model.keras")
    files.write_json(root / "state.json", {
        "step": 0, "styles": ["starry_night.jpg", "the_wave.jpg", "composition_vii.jpg"],
        "vgg_weights": {"source": "random", "path": None, "sha256": None, "seed": 0}})
    (root / "photos").mkdir()
    height, width = 192, 256  # A smooth photo-like gradient with a disc.
    y, x = np.mgrid[:height, :width]
    photo = np.stack([x * 255 / width, y * 255 / height, 128 + 0 * x], -1)
    photo[(x - 160) ** 2 + (y - 90) ** 2 < 50 ** 2] = (240, 220, 60)
    Image.fromarray(photo.astype(np.uint8)).save(root / "photos" / "tubingen.png")
    yield from serving(root / "model.keras", root / "photos", root / "renders")


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory):
    """The network that ships in models/ (trained on real paintings), on the samples."""
    yield from serving(SHIPPED, ROOT / "samples" / "content",
                       tmp_path_factory.mktemp("shipped") / "renders")


def serving(model, photos, renders):
    mixer = mixing_page.StyleMixer(cin.StyleNetwork.load(model), model, content_dir=photos,
                                   output_dir=renders, precision="float32")
    httpd = mixing_page.MixingServer(mixer, "127.0.0.1", 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1100,800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER),
                              options=options)
    yield driver
    driver.quit()


def open_page(browser, server):
    """Loads the page; returns a wait and the first preview's pixels."""
    browser.get(server.url)
    wait = WebDriverWait(browser, 60)
    wait.until(lambda d: d.execute_script("return window.previewsShown") >= 1)
    return wait, np.array(browser.execute_script(READ_PIXELS), np.int32)


def mix_half_in(browser, wait, style):
    """Moves style's slider to 100 with the keyboard (Tab there, End), so that it and the
    first style share the mix; returns the new preview's pixels once it is shown."""
    browser.find_element(By.ID, f"style-{style}").send_keys(Keys.END)
    wait.until(lambda d: d.find_element(By.ID, f"share-{style}").text == "50%")
    wait.until(lambda d: d.execute_script("return window.previewLatencies.length") >= 1)
    wait.until(lambda d: not d.execute_script(
        "return document.getElementById('caption').textContent.includes('100%')"))
    return np.array(browser.execute_script(READ_PIXELS), np.int32)


def test_moving_a_slider_redraws_the_preview(server, browser):
    wait, before = open_page(browser, server)
    assert before.size == 256 * 192 * 4
    assert browser.find_element(By.ID, "random-weights").is_displayed()  # The caption.
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".slider output")] == [
        "100%", "0%", "0%"]
    after = mix_half_in(browser, wait, 1)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() > 5  # The picture changed, not just its URL.
    assert browser.find_element(By.ID, "error").text == ""

    browser.find_element(By.ID, "render").send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "download").is_displayed())
    link = browser.find_element(By.ID, "download")
    assert link.get_attribute("href").startswith(server.url + "renders/render_")
    assert "256×192" in link.text
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []  # No script error, no failed request.


def test_the_shipped_network_mixes_real_styles(shipped_server, browser, tmp_path):
    """The README's screenshot (make screenshot): the network of models/ on a sample
    photo, half The Starry Night and half The Scream."""
    wait, first = open_page(browser, shipped_server)
    assert not browser.find_element(By.ID, "random-weights").is_displayed()
    mixed = mix_half_in(browser, wait, 2)
    assert mixed.shape == first.shape and np.abs(mixed - first).mean() > 5
    assert browser.find_element(By.ID, "error").text == ""
    path = tmp_path / "cin_serve.png"
    browser.save_screenshot(str(path))
    assert Image.open(path).size[0] >= 800
    if os.environ.get("MIXING_SCREENSHOT"):
        shutil.copy(path, os.environ["MIXING_SCREENSHOT"])
