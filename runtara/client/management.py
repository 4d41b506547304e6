"""Management client: the Python API of the runtime's management endpoints (httpx).

    client = Client("http://127.0.0.1:8001", api_key="rk_...")
    client.pause_instance("order-batch-001")
    print(client.get_instance("order-batch-001")["status"])

Every method returns the decoded JSON answer; a refused request raises ``ApiError``
carrying the problem document's status, title and detail.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

import httpx

from runtara.client.images import ImagesClientMixin
from runtara.client.triggers import TriggersClientMixin
from runtara.errors import Error

DEFAULT_URL = "http://127.0.0.1:8001"


class ApiError(Error):
    """The runtime answered a problem document (4xx/5xx)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail


class Client(ImagesClientMixin, TriggersClientMixin):
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        tenant: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``url``, ``api_key`` and ``tenant`` default to ``RUNTARA_URL``,
        ``RUNTARA_API_KEY`` and ``RUNTARA_TENANT``. ``tenant`` selects the tenant for an
        admin key or a ``--dev`` server; a tenant key always acts for its own tenant."""
        url = url or os.environ.get("RUNTARA_URL") or DEFAULT_URL
        api_key = api_key or os.environ.get("RUNTARA_API_KEY") or None
        tenant = tenant or os.environ.get("RUNTARA_TENANT") or None
        headers = {"Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if tenant:
            headers["X-Runtara-Tenant"] = tenant
        self.url = url.rstrip("/")
        try:
            self._http = httpx.Client(
                base_url=self.url, headers=headers, timeout=timeout, transport=transport
            )
        except httpx.InvalidURL as exc:
            raise ApiError(0, "Invalid URL", f"runtime URL {url!r} is not valid: {exc}") from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ApiError(
                0, "Invalid URL", f"runtime URL {self.url!r} is not valid: {exc}"
            ) from None
        except httpx.TransportError as exc:
            raise ApiError(
                0, "Unreachable", f"runtime at {self.url} is unreachable: {exc}"
            ) from None
        if response.status_code >= 400:
            try:
                problem = response.json()
                raise ApiError(
                    response.status_code, str(problem.get("title")), str(problem.get("detail"))
                )
            except ValueError:
                raise ApiError(
                    response.status_code, response.reason_phrase, response.text[:500]
                ) from None
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    @staticmethod
    def _instance(instance_id: str) -> str:
        return f"/v1/instances/{quote(instance_id, safe='')}"

    # -- service --------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/health")
        return result

    # -- instances --------------------------------------------------------------------------

    def list_instances(
        self,
        *,
        status: str | None = None,
        image_id: str | None = None,
        schedule: str | None = None,
        hook: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Newest first; ``schedule`` / ``hook`` keep the instances that trigger started."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        for name, value in (
            ("status", status),
            ("image_id", image_id),
            ("schedule", schedule),
            ("hook", hook),
        ):
            if value:
                params[name] = value
        found: list[dict[str, Any]] = self._json("GET", "/v1/instances", params=params)["instances"]
        return found

    def get_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", self._instance(instance_id))
        return result

    def pause_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._instance(instance_id) + "/pause")
        return result

    def resume_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._instance(instance_id) + "/resume")
        return result

    def cancel_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._instance(instance_id) + "/cancel")
        return result

    def send_signal(self, instance_id: str, checkpoint_id: str, payload: Any = None) -> None:
        """Send a custom signal to the instance's checkpoint/step ``checkpoint_id``."""
        self._request(
            "POST",
            self._instance(instance_id) + "/signals",
            json={"checkpoint_id": checkpoint_id, "payload": payload},
        )

    def list_events(
        self,
        instance_id: str,
        *,
        after: int = 0,
        limit: int = 100,
        event_type: str | None = None,
        subtype: str | None = None,
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"after": after, "limit": limit}
        if event_type:
            params["event_type"] = event_type
        if subtype:
            params["subtype"] = subtype
        found: list[dict[str, Any]] = self._json(
            "GET", self._instance(instance_id) + "/events", params=params
        )["events"]
        return found

    def list_checkpoints(
        self, instance_id: str, *, after: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        params = {"after": after, "limit": limit}
        found: list[dict[str, Any]] = self._json(
            "GET", self._instance(instance_id) + "/checkpoints", params=params
        )["checkpoints"]
        return found

    def get_checkpoint_state(self, instance_id: str, checkpoint_id: str) -> bytes:
        path = f"{self._instance(instance_id)}/checkpoints/{quote(checkpoint_id, safe='')}"
        return self._request("GET", path).content

    def get_output(self, instance_id: str) -> dict[str, Any]:
        """``{id, status, output, error}``."""
        result: dict[str, Any] = self._json("GET", self._instance(instance_id) + "/output")
        return result

    # -- tenants and API keys (admin) ----------------------------------------------------

    def create_tenant(self, tenant_id: str, name: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            "POST", "/v1/tenants", json={"id": tenant_id, "name": name}
        )
        return result

    def list_tenants(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json("GET", "/v1/tenants")
        return found

    def get_tenant(self, tenant_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/v1/tenants/{quote(tenant_id, safe='')}")
        return result

    def create_api_key(self, tenant_id: str, name: str = "default") -> dict[str, Any]:
        """A new key; ``result["key"]`` is the secret, shown this once."""
        path = f"/v1/tenants/{quote(tenant_id, safe='')}/api-keys"
        result: dict[str, Any] = self._json("POST", path, json={"name": name})
        return result

    def list_api_keys(self, tenant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json(
            "GET", f"/v1/tenants/{quote(tenant_id, safe='')}/api-keys"
        )
        return found

    def revoke_api_key(self, tenant_id: str, key_id: str) -> None:
        self._request(
            "DELETE", f"/v1/tenants/{quote(tenant_id, safe='')}/api-keys/{quote(key_id, safe='')}"
        )

    # -- connections ------------------------------------------------------------------------

    def create_connection(
        self,
        connection_id: str,
        integration_id: str,
        parameters: dict[str, Any],
        *,
        name: str | None = None,
    ) -> dict[str, Any]:
        document = {
            "id": connection_id,
            "integration_id": integration_id,
            "name": name,
            "parameters": parameters,
        }
        result: dict[str, Any] = self._json("POST", "/v1/connections", json=document)
        return result

    def list_connections(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json("GET", "/v1/connections")
        return found

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json(
            "GET", f"/v1/connections/{quote(connection_id, safe='')}"
        )
        return result

    def update_connection(self, connection_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
        path = f"/v1/connections/{quote(connection_id, safe='')}"
        result: dict[str, Any] = self._json("PUT", path, json={"parameters": parameters})
        return result

    def delete_connection(self, connection_id: str) -> None:
        self._request("DELETE", f"/v1/connections/{quote(connection_id, safe='')}")
