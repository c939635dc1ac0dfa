"""Prometheus metrics of one app: requests, tokens, queue depth, time to first token, time per token."""

from __future__ import annotations

from serve.engine import EngineStats
from serve.models import ModelPool


class Metrics:
    """Prometheus metrics in a registry of their own (one per app, so apps never share counters)."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("instructrl_requests", "HTTP requests by route and status", ["route", "status"],
                                registry=self.registry)
        self.prompt_tokens = Counter("instructrl_prompt_tokens", "prompt tokens of finished requests", ["model"],
                                     registry=self.registry)
        self.completion_tokens = Counter("instructrl_completion_tokens", "generated tokens", ["model"],
                                         registry=self.registry)
        self.queue_depth = Gauge("instructrl_queue_depth", "requests waiting to join a batch", ["model"],
                                 registry=self.registry)
        self.running = Gauge("instructrl_running_requests", "requests in the running batch", ["model"],
                             registry=self.registry)
        self.ttft = Histogram("instructrl_time_to_first_token_seconds", "submit to first token", ["model"],
                              buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry)
        self.tpot = Histogram("instructrl_time_per_output_token_seconds", "time between a request's tokens",
                              ["model"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                              registry=self.registry)

    def engine_stats(self, model: str) -> EngineStats:
        def tokens(prompt: int, completion: int) -> None:
            self.prompt_tokens.labels(model).inc(prompt)
            self.completion_tokens.labels(model).inc(completion)

        return EngineStats(on_first_token=self.ttft.labels(model).observe,
                           on_token_interval=self.tpot.labels(model).observe, on_tokens=tokens)

    def render(self, pool: ModelPool) -> bytes:
        from prometheus_client import generate_latest

        for model in pool.running_models():
            self.queue_depth.labels(model.name).set(model.engine.queue_depth)
            self.running.labels(model.name).set(model.engine.running)
        return generate_latest(self.registry)
