# maildesk as a container: the daemon as a non-root user, data in the /srv/maildesk/var volume.
#   docker build -t maildesk .
#   docker run -v maildesk-var:/srv/maildesk/var -v ./maildesk.toml:/etc/maildesk.toml:ro \
#              -e MAILDESK_CONFIG=/etc/maildesk.toml -e MAILDESK_IMAP_PASSWORD=... maildesk
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --system --create-home --home-dir /srv/maildesk --uid 10001 maildesk

WORKDIR /opt/maildesk
COPY pyproject.toml setup.py MANIFEST.in README.md LICENSE ./
COPY maildesk ./maildesk
# The example contracts, built into the package for `maildesk demo`.
COPY config/examples ./config/examples
RUN pip install --no-compile . && rm -rf /opt/maildesk/build

USER maildesk
WORKDIR /srv/maildesk
RUN mkdir -p /srv/maildesk/var
VOLUME ["/srv/maildesk/var"]

# The built-in LMTP listener (8024) and the client portal (8026); set their host to
# "0.0.0.0" in the config ([intake.listener], [portal]) to reach them from outside the
# container.
EXPOSE 8024 8026

# /healthz answers 200 while the database is reachable (ops port, see [ops]).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8025/healthz', timeout=4).status == 200 else 1)"]

CMD ["maildesk", "run"]
