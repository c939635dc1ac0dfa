"""The Gradio demo: a Chat tab, an anonymous side-by-side Arena with voting, and the Leaderboard.

``build_ui(api)`` returns a ``gradio.Blocks`` and keeps no module-level state: everything it needs
comes from ``api``, an object with plain methods (the serving app passes its own):

- ``models() -> list[str]``
- ``chat_stream(model, messages, temperature, top_p, max_tokens) -> Iterator[str]`` (the growing answer)
- ``compare(prompt_or_messages, models) -> {"comparison_id": str, "answers": {model: text}}``
- ``vote(comparison_id, choice) -> dict`` (choice: "a", "b", "tie" or "both_bad")
- ``leaderboard() -> list[{model, rating, ci_low, ci_high, games, wins, ties}]``

In the arena the two models are drawn at random and shown as "Model A" and "Model B"; their names
stay on the server (in per-session state) until the vote is cast, so the vote cannot be swayed by
the name (Chatbot-Arena style anonymous battles).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import gradio as gr

LEADERBOARD_HEADERS = ["Rank", "Model", "Rating", "95% CI", "Games", "Wins", "Ties"]
VOTE_LABELS = {"a": "A is better", "b": "B is better", "tie": "Tie", "both_bad": "Both bad"}


class UiBackend(Protocol):
    def models(self) -> list[str]: ...
    def chat_stream(self, model: str, messages: list[dict[str, str]], temperature: float, top_p: float,
                    max_tokens: int) -> Iterator[str]: ...
    def compare(self, prompt: str | list[dict[str, str]], models: list[str]) -> dict[str, Any]: ...
    def vote(self, comparison_id: str, choice: str) -> dict[str, Any]: ...
    def leaderboard(self) -> list[dict[str, Any]]: ...


# ---- pure helpers (no gradio objects; unit-testable) -----------------------------------------


def plain_messages(history: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Chatbot messages as {role, content: str}: Gradio hands content back as a list of typed parts."""
    return [{"role": m["role"], "content": _text_of(m.get("content"))} for m in history]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, Sequence):
        return "".join(_text_of(part) for part in content)
    return ""


def leaderboard_table(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """Leaderboard rows as table rows under LEADERBOARD_HEADERS."""
    table = []
    for rank, row in enumerate(rows, start=1):
        ci = "" if row.get("ci_low") is None else f"{row['ci_low']:.0f} to {row['ci_high']:.0f}"
        table.append([rank, row["model"], round(float(row["rating"])), ci, row["games"], row["wins"], row["ties"]])
    return table


def pick_pair(models: Sequence[str], rng: random.Random) -> list[str]:
    """Two different models in random display order."""
    if len(models) < 2:
        raise gr.Error(f"The arena needs at least two models; the server has {len(models)}.")
    return rng.sample(list(models), 2)


# ---- the Blocks ------------------------------------------------------------------------------


def offline_theme() -> gr.themes.Base:
    """Gradio's default look with system fonts: the stock theme fetches its fonts from Google,
    which an offline server cannot reach. Pass it as ``theme=`` to ``mount_gradio_app``/``launch``."""
    sans = ["ui-sans-serif", "system-ui", "Liberation Sans", "DejaVu Sans", "sans-serif"]
    mono = ["ui-monospace", "Liberation Mono", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Default(font=sans, font_mono=mono)



def build_ui(api: UiBackend, *, rng: random.Random | None = None, title: str = "instructrl") -> gr.Blocks:
    """The demo's Blocks. ``rng`` draws arena pairs (a fresh unseeded one by default)."""
    rng = rng or random.Random()
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown(f"# {title}\nChat with a checkpoint, compare two anonymous models, see the leaderboard.")
        with gr.Tab("Chat", id="chat"):
            chat_model = _chat_tab(api)
        with gr.Tab("Arena", id="arena"):
            _arena_tab(api, rng)
        with gr.Tab("Leaderboard", id="leaderboard") as board_tab:
            table, refresh = _leaderboard_tab()

        def load_board() -> list[list[Any]]:
            return leaderboard_table(api.leaderboard())

        def load_models(current: str | None) -> gr.Dropdown:
            names = api.models()  # checkpoints may have been added since the page was built
            return gr.Dropdown(choices=names, value=current if current in names else (names[0] if names else None))

        refresh.click(load_board, outputs=table)
        board_tab.select(load_board, outputs=table)
        demo.load(load_board, outputs=table)
        demo.load(load_models, chat_model, chat_model)
    return demo


def _chat_tab(api: UiBackend) -> gr.Dropdown:
    models = api.models()
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=420, elem_id="chat-box")
            with gr.Row():
                message = gr.Textbox(placeholder="Type a message and press Enter", show_label=False, scale=5,
                                     elem_id="chat-input")
                send = gr.Button("Send", variant="primary", scale=1, elem_id="chat-send")
            clear = gr.Button("Clear conversation", size="sm")
        with gr.Column(scale=1):
            model = gr.Dropdown(models, value=models[0] if models else None, label="Model", elem_id="chat-model")
            temperature = gr.Slider(0.0, 2.0, value=0.7, step=0.05, label="Temperature (0 = greedy)")
            top_p = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p")
            max_tokens = gr.Slider(1, 1024, value=128, step=1, label="Max new tokens")

    def add_user_turn(text: str, history: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
        if not text.strip():
            raise gr.Error("Type a message first.")
        return "", [*plain_messages(history), {"role": "user", "content": text}]

    def stream_answer(history: list[dict[str, Any]], name: str, temp: float, p: float,
                      limit: float) -> Iterator[list[dict[str, str]]]:
        if not name:
            raise gr.Error("Pick a model first.")
        messages = plain_messages(history)
        try:
            for partial in api.chat_stream(name, messages, float(temp), float(p), int(limit)):
                yield [*messages, {"role": "assistant", "content": partial}]
        except gr.Error:
            raise
        except Exception as err:  # show the server's reason instead of a generic "Error"
            raise gr.Error(str(err)) from err

    for trigger in (message.submit, send.click):
        trigger(add_user_turn, [message, chatbot], [message, chatbot], queue=False).success(
            stream_answer, [chatbot, model, temperature, top_p, max_tokens], chatbot)
    clear.click(lambda: [], outputs=chatbot, queue=False)
    return model


def _arena_tab(api: UiBackend, rng: random.Random) -> None:
    gr.Markdown("Ask anything: two anonymous models answer. Vote for the better answer to see who they were.")
    comparison_id = gr.State("")
    shown_models = gr.State([])  # server-side per session: the names never reach the page before the vote
    prompt = gr.Textbox(placeholder="Your prompt", show_label=False, lines=2, elem_id="arena-prompt")
    ask = gr.Button("Ask both models", variant="primary", elem_id="arena-ask")
    with gr.Row():
        with gr.Column():
            gr.Markdown("### Model A")
            answer_a = gr.Textbox(show_label=False, lines=8, interactive=False, elem_id="arena-answer-a")
        with gr.Column():
            gr.Markdown("### Model B")
            answer_b = gr.Textbox(show_label=False, lines=8, interactive=False, elem_id="arena-answer-b")
    with gr.Row():
        vote_buttons = {choice: gr.Button(label, interactive=False, elem_id=f"vote-{choice.replace('_', '-')}")
                        for choice, label in VOTE_LABELS.items()}
    reveal = gr.Markdown("", elem_id="arena-reveal")
    new_round = gr.Button("New round", elem_id="arena-new-round")
    buttons = list(vote_buttons.values())

    def run_battle(text: str):
        if not text.strip():
            raise gr.Error("Type a prompt first.")
        pair = pick_pair(api.models(), rng)
        try:
            result = api.compare(text, pair)
        except Exception as err:
            raise gr.Error(str(err)) from err
        answers = result["answers"]
        enabled = [gr.Button(interactive=True) for _ in buttons]
        return (result["comparison_id"], pair, answers[pair[0]], answers[pair[1]], "", gr.Button(interactive=False),
                *enabled)

    def cast(choice: str):
        def handler(cid: str, pair: list[str]):
            if not cid:
                raise gr.Error("Ask both models first.")
            try:
                api.vote(cid, choice)
            except Exception as err:
                raise gr.Error(str(err)) from err
            text = (f"**Thanks for voting: {VOTE_LABELS[choice]}.** Model A was **{pair[0]}**, "
                    f"Model B was **{pair[1]}**.")
            return ("", text, *[gr.Button(interactive=False) for _ in buttons])
        return handler

    def reset():
        return ("", [], "", "", "", "", gr.Button(interactive=True), *[gr.Button(interactive=False) for _ in buttons])

    battle_outputs = [comparison_id, shown_models, answer_a, answer_b, reveal, ask, *buttons]
    for trigger in (ask.click, prompt.submit):
        trigger(run_battle, prompt, battle_outputs)
    for choice, button in vote_buttons.items():
        # the id is cleared on a vote so one battle gets one vote from this page
        button.click(cast(choice), [comparison_id, shown_models], [comparison_id, reveal, *buttons])
    new_round.click(reset, outputs=[comparison_id, shown_models, prompt, answer_a, answer_b, reveal, ask, *buttons],
                    queue=False)


def _leaderboard_tab() -> tuple[gr.Dataframe, gr.Button]:
    gr.Markdown("Bradley–Terry ratings fitted to every arena vote (ties and *both bad* count half), with "
                "bootstrap 95% intervals; the intervals mean little until a model has a few dozen votes.")
    table = gr.Dataframe(headers=LEADERBOARD_HEADERS, datatype=["number", "str", "number", "str", "number",
                                                                "number", "number"],
                         interactive=False, elem_id="leaderboard-table")
    refresh = gr.Button("Refresh", elem_id="leaderboard-refresh")
    return table, refresh
