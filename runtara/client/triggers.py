"""Schedules and webhooks for ``runtara.client.Client`` (mixed into it).

client.create_schedule("nightly", "report", cron="30 2 * * *", timezone="Europe/Berlin")
client.trigger_schedule("nightly")            # {"outcome": "started", "instance_id": ...}
hook = client.create_hook("orders", "ingest", secret="s3cret-value")
print(hook["url"])                            # POST JSON here, signed with the secret
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote


class TriggersClientMixin:
    if TYPE_CHECKING:

        def _json(self, method: str, path: str, **kwargs: Any) -> Any: ...

        def _request(self, method: str, path: str, **kwargs: Any) -> Any: ...

    # -- schedules --------------------------------------------------------------------------

    @staticmethod
    def _schedule(name: str) -> str:
        return f"/v1/schedules/{quote(name, safe='')}"

    def create_schedule(
        self,
        name: str,
        image: str,
        *,
        cron: str | None = None,
        timezone: str | None = None,
        every: str | None = None,
        input: Any = None,
        overlap: str | None = None,
        catchup: str | None = None,
        start: str | None = None,
        end: str | None = None,
    ) -> dict[str, Any]:
        """A schedule: ``cron`` (in ``timezone``) or ``every`` (``"30s"``, ``"1h30m"``);
        ``start``/``end`` are ISO 8601. Answers it with its next 5 fire times."""
        body = {
            "name": name,
            "image": image,
            "cron": cron,
            "timezone": timezone,
            "every": every,
            "input": input,
            "overlap": overlap,
            "catchup": catchup,
            "start": start,
            "end": end,
        }
        result: dict[str, Any] = self._json(
            "POST",
            "/v1/schedules",
            json={k: v for k, v in body.items() if v is not None or k == "input"},
        )
        return result

    def list_schedules(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json(
            "GET", "/v1/schedules", params={"limit": limit, "offset": offset}
        )["schedules"]
        return found

    def get_schedule(self, name: str) -> dict[str, Any]:
        """The schedule with ``next_fires``: its next 5 fire times."""
        result: dict[str, Any] = self._json("GET", self._schedule(name))
        return result

    def pause_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._schedule(name) + "/pause")
        return result

    def resume_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", self._schedule(name) + "/resume")
        return result

    def trigger_schedule(self, name: str) -> dict[str, Any]:
        """Fire now: ``{schedule, scheduled_at, outcome: started|buffered, instance_id}``;
        ``ApiError`` 409 when ``--overlap skip`` kept it from starting."""
        result: dict[str, Any] = self._json("POST", self._schedule(name) + "/trigger")
        return result

    def delete_schedule(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("DELETE", self._schedule(name))
        return result

    # -- hooks ------------------------------------------------------------------------------

    @staticmethod
    def _hook(ref: str) -> str:
        return f"/v1/hooks/{quote(ref, safe='')}"

    def create_hook(self, name: str, image: str, *, secret: str | None = None) -> dict[str, Any]:
        """A webhook; ``result["url"]`` is where to POST. With ``secret``, deliveries
        must be signed (``X-Runtara-Signature: sha256=<hex HMAC-SHA256 of the body>``)."""
        body: dict[str, Any] = {"name": name, "image": image}
        if secret is not None:
            body["secret"] = secret
        result: dict[str, Any] = self._json("POST", "/v1/hooks", json=body)
        return result

    def list_hooks(self, *, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._json(
            "GET", "/v1/hooks", params={"limit": limit, "offset": offset}
        )["hooks"]
        return found

    def get_hook(self, ref: str) -> dict[str, Any]:
        """``ref``: the hook's name or id."""
        result: dict[str, Any] = self._json("GET", self._hook(ref))
        return result

    def delete_hook(self, ref: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("DELETE", self._hook(ref))
        return result

    def rotate_hook_secret(self, ref: str, secret: str | None = None) -> dict[str, Any]:
        """A new signing secret (random unless given): ``result["secret"]``, shown once."""
        result: dict[str, Any] = self._json(
            "POST", self._hook(ref) + "/rotate-secret", json={"secret": secret}
        )
        return result

    def list_hook_deliveries(self, ref: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """Accepted deliveries of the last 24 hours, newest first."""
        found: list[dict[str, Any]] = self._json(
            "GET", self._hook(ref) + "/deliveries", params={"limit": limit}
        )["deliveries"]
        return found
