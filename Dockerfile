# syntax=docker/dockerfile:1
# The production image: `docker build -t lottery .` (README, "Production").
#
# builder: the full Python image (compilers and headers are already in it, so no apt
#          step) builds one virtualenv with the service and its pinned dependencies, and
#          collects the static files.
# runtime: the slim Python image with only that virtualenv and the static files; no
#          compiler, no pip cache, no source tree, a non-root user.

# Base images by tag, not yet by digest: no registry is reachable where this was written, and
# an unverified digest is worse than none. To pin (Dependabot's docker ecosystem then keeps
# the digests current): `docker buildx imagetools inspect python:3.11-bookworm` (and
# python:3.11-slim-bookworm), then write FROM python:3.11-bookworm@sha256:<digest>.
FROM python:3.11-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /src
COPY requirements/runtime.txt requirements/runtime.txt
COPY pyproject.toml README.md LICENSE ./
COPY config/ config/
COPY lottery/ lottery/
# The runtime lock only, every file checked against its hash; then the package itself (not
# editable: the image holds the package, not the checkout) without resolving anything more.
# Then collect the static files with the production storage (WhiteNoise's manifest and
# compressed copies), which is what serves them at run time. Production settings refuse
# to load without a secret key, hosts and a mail server: these values exist only for
# this build step and are in neither the final image nor its environment.
RUN pip install --no-cache-dir --require-hashes -r requirements/runtime.txt \
    && pip install --no-cache-dir --no-deps . \
    && LOTTERY_ENV=production \
       STATIC_ROOT=/app/staticfiles \
       SECRET_KEY=build-time-only-collectstatic-key-never-used-to-sign-anything \
       ALLOWED_HOSTS=localhost \
       EMAIL_URL=smtp://localhost:25 \
       lottery manage collectstatic --noinput


# By tag for now; pin by digest as described at the builder stage.
FROM python:3.11-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="lottery" \
      org.opencontainers.image.description="A provably fair daily lottery service"

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOTTERY_ENV=production \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system --gid 10001 lottery \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin lottery

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app/staticfiles /app/staticfiles

WORKDIR /app
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000

# /healthz needs a Host that ALLOWED_HOSTS accepts: the first entry ('.example.com'
# becomes 'example.com'; '*' or nothing becomes 'localhost'). Python's urllib, no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; h = os.environ.get('ALLOWED_HOSTS', '').split(',')[0].strip().lstrip('.*') or 'localhost'; r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': h}), timeout=4)"]

# `lottery worker`, `lottery beat` and `lottery manage migrate --noinput` use the same image.
CMD ["lottery", "web"]
