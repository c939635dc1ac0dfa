"""The app's routes, one ``APIRouter`` per area: ``ops`` (health, readiness, metrics), ``openai``
(models, chat and text completions), ``arena`` (compare, votes, leaderboard) and ``lora`` (vLLM's
runtime LoRA adapter routes)."""
