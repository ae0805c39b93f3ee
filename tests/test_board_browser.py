"""The drawing board in a real browser (Debian's chromium driven by Playwright).

Held-out MNIST digits are traced on the canvas as real mouse strokes (one horizontal polyline
per row of ink), each model's panel is read through its stable hooks, and a screenshot is kept
in test-artifacts/. Then one model is taken down and the board must keep working for the other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import requests

from seldon_pkg.local.ostools import free_port
from tests.support.digits import held_out
from tests.support.gateway import GatewayProcess
from tests.support.microservice import ROOT

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
DIGITS_TO_DRAW = 24
CELL = 10  # canvas pixels per MNIST pixel (280 / 28)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, artifacts):
    gateway = GatewayProcess(tmp_path_factory.mktemp("board-state"), artifacts / "board-gateway.log").start()
    names = {}
    for spec in ("mnist-cnn-oip.yaml", "mnist-mlp.yaml"):  # as `make demo`: the CNN over OIP
        result = gateway.cli("deploy", str(ROOT / "demo_mnist" / spec))
        assert result.returncode == 0, result.stderr
    for row in gateway.deployments():
        names[row["model"].removesuffix("-oip")] = row["name"]
    port = free_port()
    log = open(artifacts / "board-server.log", "wb")
    board = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo_mnist",
            "--endpoint",
            gateway.url,
            "--port",
            str(port),
            "--oip-model",
            names["mnist-cnn"],
            "--model",
            names["mnist-mlp"],
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(url + "/api/models", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline and board.poll() is None, "board did not start"
        time.sleep(0.2)
    yield {"url": url, "gateway": gateway, "names": names}
    board.terminate()
    board.wait(10)
    gateway.stop()


@pytest.fixture(scope="module")
def page(stack):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: run `make install` (installs Debian's chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        page.goto(stack["url"])
        page.wait_for_selector("#models[data-ready=true]")
        yield page
        browser.close()


def strokes_for(image: np.ndarray, threshold: float = 0.35) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """One horizontal polyline per run of ink in each row: how a person would shade the digit."""
    lines = []
    for y in range(image.shape[0]):
        ink = np.flatnonzero(image[y] > threshold)
        if ink.size == 0:
            continue
        runs = np.split(ink, np.flatnonzero(np.diff(ink) > 1) + 1)
        for run in runs:
            lines.append(
                ((run[0] * CELL + CELL / 2, y * CELL + CELL / 2), (run[-1] * CELL + CELL / 2, y * CELL + CELL / 2))
            )
    return lines


def drawing_indices(labels: np.ndarray) -> list[int]:
    """Two held-out samples of every class, then the next ones in order, DIGITS_TO_DRAW in all."""
    chosen = [int(i) for digit in range(10) for i in np.flatnonzero(labels == digit)[:2]]
    chosen += [i for i in range(len(labels)) if i not in chosen][: DIGITS_TO_DRAW - len(chosen)]
    return sorted(chosen)


def draw(page, image: np.ndarray) -> int:
    box = page.locator("#board").bounding_box()
    count = 0
    for (x0, y0), (x1, y1) in strokes_for(image):
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        page.mouse.move(box["x"] + x1, box["y"] + y1, steps=3)
        page.mouse.up()
        count += 1
    return count


def predictions(page) -> dict[str, str]:
    return {
        panel.get_attribute("data-model"): panel.locator("[data-role=prediction]").inner_text().strip()
        for panel in page.locator(".panel").all()
    }


def wait_for_answers(page, strokes_so_far: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('#models').dataset.completed === String(n)", arg=strokes_so_far, timeout=60_000
    )


def test_drawn_digits_are_recognised_by_both_models(stack, page, artifacts):
    images, labels = held_out()
    names = stack["names"]
    correct = {name: 0 for name in names.values()}
    strokes = int(page.locator("#models").get_attribute("data-completed"))
    indices = drawing_indices(labels)
    for position, index in enumerate(indices):
        page.click("#clear")
        strokes += draw(page, images[index])
        wait_for_answers(page, strokes)
        shown = predictions(page)
        assert set(shown) == set(names.values())
        for name, digit in shown.items():
            assert digit.isdigit(), (name, digit)
            correct[name] += int(digit) == labels[index]
        if position == 0:
            page.screenshot(path=str(artifacts / "board-first-digit.png"))
    page.screenshot(path=str(artifacts / "board.png"))
    (artifacts / "board-accuracy.txt").write_text(
        "\n".join(f"{name}: {hits}/{DIGITS_TO_DRAW}" for name, hits in correct.items()) + "\n"
    )
    assert len(indices) == DIGITS_TO_DRAW and len(set(labels[indices].tolist())) == 10
    assert correct[names["mnist-cnn"]] >= 0.9 * DIGITS_TO_DRAW, correct
    assert correct[names["mnist-mlp"]] >= 0.75 * DIGITS_TO_DRAW, correct
    latency = page.locator(f".panel[data-model='{names['mnist-cnn']}'] [data-role=latency]").inner_text()
    assert latency.endswith("ms")
    protocol = page.locator(f".panel[data-model='{names['mnist-cnn']}'] [data-role=protocol]").inner_text()
    assert protocol == "Open Inference Protocol (MLServer)"
    protocol = page.locator(f".panel[data-model='{names['mnist-mlp']}'] [data-role=protocol]").inner_text()
    assert protocol == "Seldon protocol (seldon-core)"


def test_probability_bars_follow_the_prediction(stack, page):
    panel = page.locator(f".panel[data-model='{stack['names']['mnist-cnn']}']")
    digit = int(panel.locator("[data-role=prediction]").inner_text())
    top = panel.locator(".bars li.top")
    assert top.count() == 1
    assert top.locator("span").first.inner_text() == str(digit)


def test_a_model_that_is_down_shows_its_error_and_the_other_keeps_working(stack, page, artifacts):
    images, labels = held_out()
    names = stack["names"]
    result = stack["gateway"].cli("delete", names["mnist-mlp"])
    assert result.returncode == 0, result.stderr
    page.click("#clear")
    strokes = int(page.locator("#models").get_attribute("data-completed"))
    target = next(i for i in range(30, 60) if labels[i] == 3)
    strokes += draw(page, images[target])
    wait_for_answers(page, strokes)
    shown = predictions(page)
    assert shown[names["mnist-cnn"]] == "3"
    assert shown[names["mnist-mlp"]] == "–"
    down = page.locator(f".panel[data-model='{names['mnist-mlp']}'] [data-role=error]")
    assert down.is_visible() and "404" in down.inner_text()
    page.screenshot(path=str(artifacts / "board-model-down.png"))
