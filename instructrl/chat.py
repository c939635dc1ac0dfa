"""The one place where prompts become model input text, so train, evals and serve always agree.

With a chat template (SmolLM2, most instruct models) the template renders the conversation and
appends the assistant header. Without one (base models such as GPT-2) the documented plain format is

    User: <message>

    Assistant: <message>

    User: <message>

    Assistant:

A training target is the answer followed by the end-of-answer text (the tokenizer's eos token),
so a model learns to stop; generation stops at that same token.
"""

from __future__ import annotations

from instructrl.data.schemas import Message, Prompt

PLAIN_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


def as_messages(prompt: Prompt) -> list[Message]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


def format_prompt(tokenizer, prompt: Prompt) -> str:
    """The text a model sees before its answer."""
    messages = as_messages(prompt)
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    turns = [f"{PLAIN_ROLES[m['role']]}: {m['content']}" for m in messages]
    return "\n\n".join([*turns, "Assistant:"])


def end_of_answer(tokenizer) -> str:
    """Text appended to a training answer so the model learns to stop."""
    return tokenizer.eos_token or ""


def format_answer(tokenizer, completion: str) -> str:
    """The training target that follows ``format_prompt``: the answer and the end-of-answer token."""
    lead = "" if getattr(tokenizer, "chat_template", None) else " "
    return f"{lead}{completion.strip()}{end_of_answer(tokenizer)}"
