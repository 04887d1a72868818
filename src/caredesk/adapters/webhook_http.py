"""POSTing webhook deliveries with the standard library (no redirects followed)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from caredesk.services.webhooks_ports import WebhookSendError


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would re-send a signed body somewhere the subscriber did not name.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibWebhookSender:
    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self.timeout = timeout_seconds
        self._opener = urllib.request.build_opener(_NoRedirects)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (http(s) only, checked on subscription)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise WebhookSendError(str(getattr(exc, "reason", exc))) from exc
