# postcall: the `postcall` command in a small image (python:3.12-slim), run as a non-root user.
# Build:  docker build -t postcall .
# Run:    see deploy/compose.yaml and docs/deploy.md (serve, worker, purge, erase... all work).

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /srv/postcall --create-home postcall
# The agent served by default: the example support line and its example CRM.  Mount or copy
# your own agent folder to /srv/postcall/agent instead.  Its .postcall/ holds secrets and the
# console's session key: give it a volume shared by every serve replica.
COPY --chown=postcall:postcall examples/contoso-support /srv/postcall/agent
COPY --chown=postcall:postcall examples/crm /srv/postcall/crm
RUN install -d -o postcall -g postcall -m 0700 /srv/postcall/agent/.postcall
USER postcall
WORKDIR /srv/postcall
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["postcall"]
CMD ["serve", "/srv/postcall/agent", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"]
