"""Open an eval report in headless Chromium and check that every embedded plot decodes and renders.

Needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver) and selenium;
skipped with the reason when they are absent."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from instructrl.cli import main

pytestmark = pytest.mark.browser


def _chrome_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("headless Chromium not found (install with: apt-get install -y chromium chromium-driver)")
    return browser, driver


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    binary, driver_path = _chrome_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chrome-profile'}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    yield driver
    driver.quit()


def test_report_images_load_in_headless_chromium(tmp_path, browser):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(json.dumps({
        "id": f"p{i}", "category": ("generation", "closed_qa")[i % 2],
        "prompt": f"Text: the shop opens at {i} am. Question: when does the shop open?",
        "completion": f"At {i} am.", "constraints": {"max_words": 8}}) for i in range(4)) + "\n")
    out = tmp_path / "run"
    assert main(["eval", "--suite", "winrate", "--models", "base:tiny-random,tiny-random", "--baseline",
                 "tiny-random", "--base-model", "tiny-random", "--judge", "rm:tiny-random", "--prompts",
                 str(prompts), "--out", str(out), "--max-new-tokens", "6", "--n-boot", "50", "--no-progress"]) == 0
    report = out / "report.html"

    browser.get(Path(report).resolve().as_uri())
    assert "instructrl eval" in browser.title
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt]);")
    assert len(images) == 3
    for complete, width, height, alt in images:
        assert complete and width > 0 and height > 0, alt
    headings = browser.execute_script("return Array.from(document.querySelectorAll('h2')).map(h => h.textContent);")
    assert "Win rate against the baseline" in headings
