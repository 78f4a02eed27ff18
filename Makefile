# make demo: set everything up (virtual environment, package, VGG19 weights) and stylise
#            the sample cat with the sample swirls painting.
# make test: the test suite (no network, random weights, tiny images).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Demo settings: make demo WEIGHTS=random ITERATIONS=5 is a quick offline smoke run.
WEIGHTS ?= imagenet
SIZE ?= 256
ITERATIONS ?= 300
CONTENT ?= samples/content/chelsea.jpg
STYLE ?= samples/style/swirls.jpg

.PHONY: install test-install demo test bench figures gallery mutate hostile screenshot clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# What only the tests need (pytest, selenium, and JAX and PyTorch for the backend tests),
# installed by the targets that run tests, so that make demo stays light.
test-install: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/style_transfer --content $(CONTENT) --style $(STYLE) \
		--output outputs/demo.png --size $(SIZE) --iterations $(ITERATIONS) \
		--weights $(WEIGHTS) --print_every 25 \
		|| { echo "(offline? 'make demo WEIGHTS=random ITERATIONS=5' runs the demo's" \
		     "plumbing with random weights; its picture shows nothing)"; exit 2; }

# Two workers (pytest-xdist), each test file on one of them: module fixtures are built once.
test: test-install
	$(BIN)/python -m pytest -q -rs -n 2 --dist loadfile tests

bench: install
	$(BIN)/python benchmarks/balance.py --output benchmarks/results/balance.json
	$(BIN)/python benchmarks/iteration.py --output benchmarks/results/iteration.json
	$(BIN)/python benchmarks/memory.py --output benchmarks/results/memory.json
	$(BIN)/python benchmarks/masks.py --output benchmarks/results/masks.json
	$(BIN)/python benchmarks/style_losses.py --output benchmarks/results/style_losses.json
	$(BIN)/python benchmarks/matting.py --output benchmarks/results/matting.json
	$(BIN)/python benchmarks/patches.py --output benchmarks/results/patches.json
	$(BIN)/python benchmarks/optimizer.py --output benchmarks/results/optimizer.json
	$(BIN)/python benchmarks/cin.py --output benchmarks/results/cin.json
	$(BIN)/python benchmarks/cin_folder.py --output benchmarks/results/cin_folder.json
	$(BIN)/python benchmarks/mixing_page.py --output benchmarks/results/mixing_page.json

# Plant each one-line bug of tests/mutations.txt, run its tests, report the survivors.
mutate: test-install
	$(BIN)/python tests/mutate.py tests/mutations.txt

# Every command against ~250 hostile inputs, as a user runs them (about 15 minutes).
hostile: install
	$(BIN)/python tests/hostile.py

# The README's picture of the mixing page, taken by its browser test (needs Chromium).
screenshot: test-install
	MIXING_SCREENSHOT=docs/cin_serve.png $(BIN)/python -m pytest -q tests/test_mixing_browser.py

# Every figure of scripts/figures.py; FIGURE_SIZE and FIGURE_ITERATIONS trade time for quality.
FIGURE_SIZE ?= 256
FIGURE_ITERATIONS ?= 200
figures: install
	$(BIN)/python scripts/figures.py --size $(FIGURE_SIZE) --iterations $(FIGURE_ITERATIONS) \
		--weights $(WEIGHTS) --output_dir figures

# The README's gallery: every technique at 512 px on real weights, its command under it
# (docs/gallery/). About 3 minutes on a GPU (KERAS_BACKEND=jax works), hours on 2 CPU cores.
NETWORK ?= vgg16
GALLERY_JOBS ?= 1
gallery: install
	$(BIN)/python scripts/gallery.py --network $(NETWORK) --size 512 --jobs $(GALLERY_JOBS) \
		--weights $(WEIGHTS)

clean:
	rm -rf $(VENV) build *.egg-info outputs figures .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
