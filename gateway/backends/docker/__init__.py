"""The Docker Engine API (``DOCKER_HOST``) through aiodocker."""

from __future__ import annotations

from gateway.backends.docker.client import Container, DockerClient

__all__ = ["Container", "DockerClient"]
