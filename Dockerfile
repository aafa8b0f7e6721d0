# PageNow User API image: dependencies built in one stage, a slim non-root runtime in the next.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY requirements.txt /tmp/requirements.txt
# A virtualenv is copied whole into the runtime stage; no compiler or pip cache follows it.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FLASK_APP=wsgi:app \
    GUNICORN_BIND=0.0.0.0:8000
RUN groupadd --system --gid 10001 pagenow \
    && useradd --system --uid 10001 --gid pagenow --home-dir /app --no-create-home --shell /usr/sbin/nologin pagenow
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Code stays owned by root: the service user can read it, not change it.
COPY wsgi.py gunicorn.conf.py gunicorn_worker.py ./
COPY migrations/ migrations/
COPY service/ service/
# The one writable folder: compose mounts a volume here for the development sign-in key.
RUN mkdir .local && chown pagenow:pagenow .local
USER pagenow
EXPOSE 8000
# Liveness only (/ping); /health, which touches the database, is for the load balancer's readiness.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/ping', timeout=2).status != 200)"]
ENTRYPOINT ["gunicorn", "-c", "gunicorn.conf.py"]
CMD ["wsgi:app"]
