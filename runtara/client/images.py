"""Images, starts and logs for ``runtara.client.Client`` (mixed into it).

client.register_image("nightly", command="python3 nightly.py", memory="256M")
instance = client.start_instance("nightly", input={"day": "2026-01-01"})
for line in client.follow_logs(instance["id"]):
    print(line["stream"], line["line"])
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote


class ImagesClientMixin:
    if TYPE_CHECKING:

        def _json(self, method: str, path: str, **kwargs: Any) -> Any: ...

        def _request(self, method: str, path: str, **kwargs: Any) -> Any: ...

        @staticmethod
        def _instance(instance_id: str) -> str: ...

    # -- images ---------------------------------------------------------------------------

    def register_image(
        self,
        name: str,
        *,
        command: str | list[str] | None = None,
        workflow: dict[str, Any] | None = None,
        oci: str | None = None,
        memory: str | None = None,
        cpus: float | None = None,
        timeout: float | None = None,
        runner: str | None = None,
        base_image: str | None = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        """Register the next version of ``name``: one of ``command``, ``workflow``, ``oci``."""
        body = {
            "name": name,
            "command": command,
            "workflow": workflow,
            "oci": oci,
            "memory": memory,
            "cpus": cpus,
            "timeout": timeout,
            "runner": runner,
            "base_image": base_image,
            "workdir": workdir,
        }
        result: dict[str, Any] = self._json(
            "POST", "/v1/images", json={k: v for k, v in body.items() if v is not None}
        )
        return result

    def list_images(
        self, *, name: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if name:
            params["name"] = name
        found: list[dict[str, Any]] = self._json("GET", "/v1/images", params=params)["images"]
        return found

    def get_image(self, ref: str) -> dict[str, Any]:
        """``ref``: an image id, ``NAME`` (latest version) or ``NAME:VERSION``."""
        result: dict[str, Any] = self._json("GET", f"/v1/images/{quote(ref, safe='')}")
        return result

    def delete_image(self, ref: str) -> None:
        self._request("DELETE", f"/v1/images/{quote(ref, safe='')}")

    # -- starting and watching --------------------------------------------------------------

    def start_instance(
        self,
        image: str,
        input: Any = None,
        *,
        instance_id: str | None = None,
        max_attempts: int | None = None,
    ) -> dict[str, Any]:
        """A new instance of ``image``; the runtime launches it at once."""
        body: dict[str, Any] = {"image": image, "input": input}
        if instance_id:
            body["id"] = instance_id
        if max_attempts is not None:
            body["max_attempts"] = max_attempts
        result: dict[str, Any] = self._json("POST", "/v1/instances", json=body)
        return result

    def read_logs(
        self, instance_id: str, *, after: int = 0, limit: int = 1000, stream: str | None = None
    ) -> dict[str, Any]:
        """``{lines: [{seq, stream, line, created_at}], next_after, status}``."""
        params: dict[str, Any] = {"after": after, "limit": limit}
        if stream:
            params["stream"] = stream
        result: dict[str, Any] = self._json(
            "GET", self._instance(instance_id) + "/logs", params=params
        )
        return result

    def follow_logs(
        self, instance_id: str, *, after: int = 0, poll_interval: float = 0.5
    ) -> Iterator[dict[str, Any]]:
        """Every line, as it comes, until the instance has ended and printed all."""
        while True:
            page = self.read_logs(instance_id, after=after)
            yield from page["lines"]
            after = page["next_after"]
            if page["lines"]:
                continue
            if page["ended"]:
                return
            time.sleep(poll_interval)

    def process_info(self, instance_id: str) -> dict[str, Any]:
        """Runner, server, process, peak memory, CPU time and applied limits."""
        result: dict[str, Any] = self._json("GET", self._instance(instance_id) + "/process")
        return result
