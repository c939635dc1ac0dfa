# instructrl in a container: CPU by default; on a GPU host build with --build-arg TORCH_SPEC=torch.
FROM python:3.11-slim

ARG TORCH_SPEC=torch==2.13.0
ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    INSTRUCTRL_HOME=/data/cache \
    INSTRUCTRL_CHECKPOINTS=/data/checkpoints

RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md Makefile ./
COPY instructrl ./instructrl
COPY train ./train
COPY evals ./evals
COPY serve ./serve
COPY configs ./configs
RUN make install VENV=/opt/venv TORCH_SPEC="$TORCH_SPEC"
ENV PATH=/opt/venv/bin:$PATH
# convert the embedded model once at build time so the container starts fast
RUN python -c "from instructrl.models.loading import resolve_model; resolve_model('smollm2-135m')"

VOLUME /data
EXPOSE 8000
CMD ["instructrl", "serve", "--host", "0.0.0.0", "--port", "8000"]
