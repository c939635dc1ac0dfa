"""The Gradio demo driven through a real headless Chromium: chat with a streamed answer, one arena
round with a vote that lands in the votes database, and the leaderboard showing it.

The backend is real: a tiny random Policy generating (streamed through transformers'
TextIteratorStreamer), a VoteStore on disk and the live Bradley–Terry leaderboard. Set
INSTRUCTRL_UI_SCREENSHOTS to a folder to keep one screenshot per tab.
"""

from __future__ import annotations

import os
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from instructrl.models.policy import Policy, SamplingParams
from serve.leaderboard import leaderboard
from serve.ui import build_ui, leaderboard_table, offline_theme, pick_pair, plain_messages
from serve.votes import VoteStore
from tests.live_server import LiveServer

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000"]


# ---- the pure helpers, no browser needed -------------------------------------------------------


def test_plain_messages_flattens_gradio_content_parts():
    history = [{"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
               {"role": "assistant", "content": "Hello"}]
    assert plain_messages(history) == [{"role": "user", "content": "Hi there"},
                                       {"role": "assistant", "content": "Hello"}]


def test_leaderboard_table_rows():
    rows = [{"model": "x", "rating": 1034.6, "ci_low": 990.2, "ci_high": 1080.9, "games": 5, "wins": 3, "ties": 1}]
    assert leaderboard_table(rows) == [[1, "x", 1035, "990 to 1081", 5, 3, 1]]


def test_pick_pair_draws_two_different_models():
    import gradio as gr

    rng = random.Random(0)
    pairs = {tuple(pick_pair(["a", "b", "c"], rng)) for _ in range(60)}
    assert all(a != b for a, b in pairs)
    assert len(pairs) == 6  # every ordered pair shows up: both models get both sides
    with pytest.raises(gr.Error, match="at least two models"):
        pick_pair(["a"], rng)


# ---- a real backend --------------------------------------------------------------------------


class TinyBackend:
    """The UI contract over a tiny random Policy: two "models" are the same weights sampled at
    different temperatures, which is enough to make distinct answers."""

    def __init__(self, policy: Policy, store: VoteStore):
        self.policy, self.store = policy, store
        self.settings = {"tiny-warm": (0.7, 1), "tiny-hot": (1.3, 2)}  # name: (temperature, seed)
        self.chunks: list[int] = []  # partial answers yielded per chat request
        self.lock = threading.Lock()  # one generate at a time on the shared model

    def models(self) -> list[str]:
        return list(self.settings)

    def chat_stream(self, model: str, messages: list[dict[str, str]], temperature: float, top_p: float,
                    max_tokens: int) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        if model not in self.settings:
            raise KeyError(f"unknown model {model!r}")
        tok = self.policy.tokenizer
        enc = tok(self.policy.format(messages), return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
        sample = temperature > 0
        kwargs = dict(**enc, max_new_tokens=max_tokens, do_sample=sample, streamer=streamer,
                      temperature=temperature if sample else None, top_p=top_p if sample else None,
                      top_k=0 if sample else None, pad_token_id=tok.pad_token_id)

        def run() -> None:
            with self.lock:
                torch.manual_seed(self.settings[model][1])
                self.policy.model.generate(**kwargs)

        worker = threading.Thread(target=run)
        worker.start()
        text, count = "", 0
        for piece in streamer:
            text += piece
            count += 1
            yield text
        worker.join()
        self.chunks.append(count)

    def compare(self, prompt, models: list[str]) -> dict[str, Any]:
        answers = {}
        with self.lock:
            for name in models:
                temperature, seed = self.settings[name]
                params = SamplingParams(max_new_tokens=24, temperature=temperature, seed=seed)
                answers[name] = self.policy.generate([prompt], params)[0].text
        return {"comparison_id": self.store.record_comparison(prompt, answers), "answers": answers}

    def vote(self, comparison_id: str, choice: str) -> dict[str, Any]:
        return self.store.record_vote(comparison_id, choice, voter="browser-test")

    def leaderboard(self) -> list[dict[str, Any]]:
        return leaderboard(self.store, bootstrap=50)


# ---- serving and driving the browser ---------------------------------------------------------


@pytest.fixture
def served_ui(tiny_policy, tmp_path):
    import gradio as gr
    from fastapi import FastAPI

    store = VoteStore(tmp_path / "votes.db")
    backend = TinyBackend(tiny_policy, store)
    app = gr.mount_gradio_app(FastAPI(), build_ui(backend, rng=random.Random(0)), path="/ui", ssr_mode=False,
                              theme=offline_theme())
    with LiveServer(app) as server:
        yield f"{server.url}/ui/", backend, store
    store.close()


@pytest.fixture
def browser(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("Debian chromium and chromedriver are not installed (run .ci/install-browser.sh)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROME_FLAGS, f"--user-data-dir={tmp_path / 'chrome-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("INSTRUCTRL_UI_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
def test_chat_arena_vote_and_leaderboard_in_chromium(browser, served_ui, tmp_path):  # browser first: skip early
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, backend, store = served_ui
    shots = _screenshots(tmp_path)
    wait = WebDriverWait(browser, 60)
    browser.get(url)

    def css(selector: str):
        return wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, selector)))

    def tab(label: str) -> None:
        wait.until(ec.element_to_be_clickable(
            (By.XPATH, f"//button[@role='tab' and normalize-space()='{label}']"))).click()

    # Chat: send a message, the answer streams into the chatbot. A MutationObserver records every
    # text the assistant message shows, so streaming is seen in the page, not only in the backend.
    box = css("#chat-input textarea")
    browser.execute_script("""
        window.seenAnswers = [];
        const box = document.querySelector('#chat-box');
        new MutationObserver(() => {
            const bots = box.querySelectorAll('.message.bot, [data-testid="bot"]');
            const text = bots.length ? bots[bots.length - 1].textContent : '';
            const seen = window.seenAnswers;
            if (text && seen[seen.length - 1] !== text) seen.push(text);
        }).observe(box, {subtree: true, childList: true, characterData: true});
    """)
    box.send_keys("Tell me a story.")
    box.send_keys(Keys.ENTER)
    wait.until(lambda d: len(backend.chunks) == 1)
    bot = wait.until(lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#chat-box .message.bot, "
                                                                                "#chat-box [data-testid='bot']")
                                if e.text.strip()])
    assert bot, "no assistant message appeared in the chatbot"
    assert "Tell me a story." in css("#chat-box").text
    assert backend.chunks[0] > 1, "the backend produced the answer in one piece; it should stream"
    seen = browser.execute_script("return window.seenAnswers")
    assert len(seen) >= 2, f"the page showed the answer in one piece ({seen!r}); it should stream"
    browser.save_screenshot(str(shots / "chat.png"))

    # Arena: two anonymous answers, vote, models revealed, vote stored
    tab("Arena")
    prompt = css("#arena-prompt textarea")
    prompt.send_keys("Which is better, tea or coffee?")
    wait.until(ec.element_to_be_clickable((By.ID, "arena-ask"))).click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#arena-answer-a textarea").get_attribute("value"))
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "tiny-warm" not in page and "tiny-hot" not in page, "a model name was shown before the vote"
    wait.until(ec.element_to_be_clickable((By.ID, "vote-b"))).click()
    revealed = wait.until(lambda d: "Model A was" in d.find_element(By.ID, "arena-reveal").text
                          and d.find_element(By.ID, "arena-reveal").text)
    browser.save_screenshot(str(shots / "arena.png"))

    assert store.vote_count() == 1
    vote_battle = store.battles()[0]
    model_a, model_b, score = vote_battle
    assert score == 0.0  # "B is better"
    assert f"Model A was {model_a}" in revealed and f"Model B was {model_b}" in revealed
    assert {model_a, model_b} == {"tiny-warm", "tiny-hot"}

    # Leaderboard: the winner is on top
    tab("Leaderboard")
    wait.until(ec.element_to_be_clickable((By.ID, "leaderboard-refresh"))).click()
    wait.until(lambda d: model_b in d.find_element(By.ID, "leaderboard-table").text)
    table = browser.find_element(By.ID, "leaderboard-table").text
    assert table.index(model_b) < table.index(model_a)
    browser.save_screenshot(str(shots / "leaderboard.png"))


# ---- the real server with an API key: the browser signs in with the key -------------------------


@pytest.fixture
def keyed_server(tmp_path):

    from serve.app import create_app
    from serve.settings import Settings

    store = VoteStore(tmp_path / "votes.db")
    settings = Settings(models=("tiny-random",), serve_registry=False, api_keys=("s3cret",), ui=True)
    with LiveServer(create_app(settings, vote_store=store)) as server:
        yield server.url
    store.close()


@pytest.mark.browser
def test_with_an_api_key_the_browser_signs_in_and_chats(browser, keyed_server, tmp_path):
    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(f"{keyed_server}/ui/")

    def sign_in(key: str) -> None:
        password = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "input[type='password']")))
        browser.find_element(By.CSS_SELECTOR, "input:not([type='password'])").send_keys("me")
        password.send_keys(key)
        password.send_keys(Keys.ENTER)

    sign_in("wrong")
    wait.until(lambda d: "Incorrect" in d.find_element(By.TAG_NAME, "body").text)
    assert "API key" in browser.find_element(By.TAG_NAME, "body").text  # the sign-in says what to enter
    browser.get(f"{keyed_server}/ui/")
    sign_in("s3cret")
    box = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#chat-input textarea")))
    box.send_keys("Hello")
    box.send_keys(Keys.ENTER)
    wait.until(lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, "#chat-box .message.bot, "
                                                                       "#chat-box [data-testid='bot']")
                          if e.text.strip()])
    browser.save_screenshot(str(_screenshots(tmp_path) / "signed-in-chat.png"))
    # the browser's session cookie opens the UI only: the API still needs the key in a header
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    assert httpx.get(f"{keyed_server}/v1/models", cookies=cookies).status_code == 401
    assert httpx.get(f"{keyed_server}/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
