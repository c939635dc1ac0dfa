"""Request and response bodies of the serving API, in OpenAI's shapes (pydantic models).

Static limits (non-negative numbers, at least one message, known roles) live here so they appear
in the OpenAPI schema; limits that depend on the server's settings (max_tokens cap, n cap, prompt
length) are checked by the app and reported in the same error shape.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

Role = Literal["system", "developer", "user", "assistant"]  # "developer" is OpenAI's newer name for system
Choice = Literal["a", "b", "tie", "both_bad"]


def _encodable(text: str) -> str:
    """JSON lets a string carry a lone surrogate ("\\ud800"), which no tokenizer (and no UTF-8 reply) takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"the text holds a character that is not valid Unicode (a lone surrogate at "
                         f"position {err.start}); send UTF-8 text") from None
    return text


Text = Annotated[str, AfterValidator(_encodable)]  # every string a request carries
TokenIds = Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)]  # a tokenized prompt
SEED = Field(None, ge=-(2**63), le=2**64 - 1, description="same seed + same request = same sampled answer")


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")  # clients send fields we do not use (user, metadata, ...)


class TextPart(BaseModel):
    type: Literal["text"]
    text: Text


class ChatMessage(_Request):
    role: Role
    content: Text | list[TextPart]
    name: Text | None = None

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class StreamOptions(_Request):
    include_usage: StrictBool = False


# OpenAI fields that local models cannot honour. They are declared (not silently dropped as unknown
# fields are) so that a request using one gets a 400 saying so; a proxied model receives them as sent.
UNSUPPORTED = ("tools", "tool_choice", "functions", "function_call", "parallel_tool_calls", "response_format",
               "logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "best_of",
               "suffix", "audio", "modalities", "prediction", "web_search_options")
HARMLESS = (None, False, 0, "", [], {}, "none", "auto", "text", {"type": "text"})  # values that ask for nothing


class _Unsupported(_Request):
    tools: Any = None
    tool_choice: Any = None
    functions: Any = None
    function_call: Any = None
    parallel_tool_calls: Any = None
    response_format: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    logit_bias: Any = None
    presence_penalty: Any = None
    frequency_penalty: Any = None
    best_of: Any = None
    suffix: Any = None
    audio: Any = None
    modalities: Any = None
    prediction: Any = None
    web_search_options: Any = None

    supported: ClassVar[tuple[str, ...]] = ()  # of UNSUPPORTED, what a subclass does honour

    def unsupported(self) -> str | None:
        """The first unsupported field this request asks something of, if any."""
        for name in (n for n in UNSUPPORTED if n not in self.supported):
            value = getattr(self, name)
            if not (value in HARMLESS or (name == "best_of" and value == 1)
                    or (name == "modalities" and value == ["text"])):
                return name
        return None


class _Sampling(_Unsupported):
    temperature: float = Field(1.0, ge=0, le=2, description="0 = greedy")
    top_p: float = Field(1.0, gt=0, le=1)
    n: int = Field(1, ge=1, description="answers per prompt (capped by the server)")
    stream: StrictBool = False
    stream_options: StreamOptions | None = None
    stop: Text | list[Text] | None = Field(None, description="up to the server's cap of stop sequences")
    seed: int | None = SEED
    max_tokens: int | None = Field(None, ge=1, description="capped by the server")

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class ChatCompletionRequest(_Sampling):
    model: Text = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, description="OpenAI's newer name for max_tokens")
    logprobs: StrictBool = Field(False, description="the log-probability of each answer token")
    top_logprobs: int | None = Field(None, ge=0, le=20, description="with logprobs: the most likely alternatives")
    supported: ClassVar[tuple[str, ...]] = ("logprobs", "top_logprobs")


class CompletionRequest(_Sampling):
    model: Text = Field(min_length=1)
    prompt: Text | list[Text] | TokenIds | list[TokenIds] = Field(
        description="a raw text prompt (no chat template), a list of token ids, or a list of either")
    max_tokens: int | None = Field(16, ge=0, description="capped by the server; 0 with echo scores the prompt")
    echo: StrictBool = False
    logprobs: int | None = Field(None, ge=0, le=5, description="log-probs of each token and its top alternatives")
    return_token_ids: StrictBool = Field(False, description="vLLM's extension: each choice's prompt_token_ids and "
                                                            "token_ids (the sampled tokens, the end token included)")
    supported: ClassVar[tuple[str, ...]] = ("logprobs",)

    def prompts(self) -> list[str | list[int]]:
        """Each prompt of the request: a text, or a list of token ids (as vLLM and lm-eval send them)."""
        if isinstance(self.prompt, str) or (self.prompt and isinstance(self.prompt[0], int)):
            return [self.prompt]
        return list(self.prompt)


class LoadLoraAdapterRequest(_Request):
    lora_name: Text = Field(min_length=1, description="the model name requests will use for base + adapter")
    lora_path: Text = Field(min_length=1, description="a PEFT adapter folder on the server's file system")


class UnloadLoraAdapterRequest(_Request):
    lora_name: Text = Field(min_length=1)


class CompareRequest(_Request):
    models: list[Text] = Field(min_length=2, description="two or more distinct model names; a/b are the first two")
    messages: list[ChatMessage] | None = Field(None, min_length=1)
    prompt: Text | None = Field(None, description="a single user turn (give this or messages)")
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(0.0, ge=0, le=2)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int | None = SEED


class VoteRequest(_Request):
    comparison_id: Text = Field(min_length=1)
    choice: Choice
    voter: Text | None = None


# ---- responses ------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class _Choice(BaseModel):
    index: int
    finish_reason: str
    logprobs: None = None


class _Answer(BaseModel):
    """What both OpenAI answer objects share; each adds its ``object`` tag and ``choices``."""

    id: str
    created: int
    model: str
    usage: Usage


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int]


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChatLogprobs(BaseModel):
    """OpenAI's chat log-probs: one entry per answer token, with its most likely alternatives."""

    content: list[TokenLogprob]


class ChatChoice(_Choice):
    message: AssistantMessage
    logprobs: ChatLogprobs | None = None


class ChatCompletion(_Answer):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]


class CompletionLogprobs(BaseModel):
    """OpenAI's legacy completion log-probs: per token its text, log-probability (null for a prompt's
    first token, which nothing predicts), the most likely alternatives and its character offset."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(_Choice):
    text: str
    logprobs: CompletionLogprobs | None = None
    prompt_token_ids: list[int] | None = None  # with return_token_ids, as vLLM answers
    token_ids: list[int] | None = None


class Completion(_Answer):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str
    root: str | None = None  # a runtime LoRA adapter's path, as vLLM lists it
    parent: str | None = None  # a runtime LoRA adapter's base model


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class CompareAnswer(BaseModel):
    model: str
    content: str
    finish_reason: str | None = None


class Comparison(BaseModel):
    id: str
    object: Literal["comparison"] = "comparison"
    created: int
    answers: list[CompareAnswer]


class Vote(BaseModel):
    model_config = ConfigDict(extra="allow")  # the vote store's record, whatever else it holds
    comparison_id: str
    choice: Choice


class LeaderboardRow(BaseModel):
    model: str
    rating: float
    ci_low: float
    ci_high: float
    games: int
    wins: float
    ties: float


class Leaderboard(BaseModel):
    object: Literal["list"] = "list"
    data: list[LeaderboardRow]


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
