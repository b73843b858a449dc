# syntax=docker/dockerfile:1
# Build stage: wheels for the project and its dependencies (compilers stay out of the image).
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY schema ./schema
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the wheels only, a non-root user, data in /data.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GATEWAY_STORE=sqlite:////data/ops-gateway.db \
    GATEWAY_DATA_DIR=/data
RUN groupadd --system --gid 10001 gateway \
 && useradd --system --uid 10001 --gid gateway --home-dir /data --shell /usr/sbin/nologin gateway \
 && mkdir -p /data && chown gateway:gateway /data && chmod 0700 /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER gateway
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["ops-gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
