"""A Zendesk account read through zenpy, Zendesk's Python client (services/zendesk/ports.py).

zenpy builds every address from a subdomain of zendesk.com unless `ZENPY_FORCE_NETLOC` and
`ZENPY_FORCE_SCHEME` name another host; this sets them from the account's URL, so one
path reaches `https://acme.zendesk.com` and a desk on `http://127.0.0.1:8000` alike."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException, ZenpyException

from caredesk.services.zendesk.ports import DownloadFailed, PageDone, Record, SourceRefused

CHUNK = 64 * 1024


class ZenpySource:
    def __init__(self, url: str, email: str, token: str, *, timeout: float = 60.0) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceRefused(f"{url!r} is not an http(s) address of a Zendesk account")
        self._url = f"{parts.scheme}://{parts.netloc}"
        os.environ["ZENPY_FORCE_SCHEME"] = parts.scheme
        os.environ["ZENPY_FORCE_NETLOC"] = parts.netloc
        self._timeout = timeout
        self._auth = (f"{email}/token", token)
        # zenpy wants a subdomain even when the host above replaces it.
        subdomain = parts.hostname.split(".")[0] if parts.hostname else "account"
        self._client = Zenpy(subdomain=subdomain, email=email, token=token, timeout=timeout)

    @property
    def url(self) -> str:
        return self._url

    def check(self) -> None:
        try:
            me = self._client.users.me()
        except (APIException, ZenpyException, requests.RequestException, ValueError) as exc:
            raise SourceRefused(f"{self._url} did not accept the import: {_reason(exc)}") from exc
        if me is None or getattr(me, "id", None) is None:
            raise SourceRefused(f"{self._url} does not know this email and token")

    def users(self, cursor: str | None) -> Iterator[Record | PageDone]:
        api = self._client.users
        pages = api.incremental(cursor=cursor) if cursor else api.incremental(start_time=0)
        return _stream(pages)

    def tickets(self, cursor: str | None) -> Iterator[Record | PageDone]:
        api = self._client.tickets
        pages = api.incremental(cursor=cursor) if cursor else api.incremental(start_time=0)
        return _stream(pages)

    def comments(self, ticket_id: int) -> Iterator[Record]:
        return _records(self._client.tickets.comments(ticket_id))

    def groups(self) -> Iterator[Record]:
        return _records(self._client.groups())

    def organizations(self) -> Iterator[Record]:
        return _records(self._client.organizations())

    def ticket_fields(self) -> Iterator[Record]:
        return _records(self._client.ticket_fields())

    def satisfaction_ratings(self) -> Iterator[Record]:
        return _records(self._client.satisfaction_ratings())

    def download(self, url: str, limit: int) -> bytes | None:
        # A file is fetched with the account's credential only from the account's own host.
        auth = self._auth if urlsplit(url).netloc == urlsplit(self._url).netloc else None
        try:
            with requests.get(url, auth=auth, stream=True, timeout=self._timeout) as answer:
                answer.raise_for_status()
                content = bytearray()
                for chunk in answer.iter_content(CHUNK):
                    content += chunk
                    if len(content) > limit:
                        return None
                return bytes(content)
        except requests.RequestException as exc:
            raise DownloadFailed(_reason(exc)) from exc


def _records(objects: Iterable[Any]) -> Iterator[Record]:
    for item in objects:
        yield item.to_dict()


def _stream(pages: Any) -> Iterator[Record | PageDone]:
    """The objects of an incremental export, with a PageDone after each page's last one.

    zenpy reads the next page when the object after a page's last is asked for, and sets
    the page's `after_cursor` on the generator as it does: once that changes, every object
    of the page before was handed over (and stored by the caller before it asked again)."""
    page: str | None = None
    for item in pages:
        current = getattr(pages, "after_cursor", None)
        if page is not None and current != page:
            yield PageDone(page)
        page = current
        yield item.to_dict()
    last = getattr(pages, "after_cursor", None)
    if last:
        yield PageDone(str(last))


def _reason(exc: Exception) -> str:
    if isinstance(exc, APIException):
        answer = getattr(exc, "response", None)
        status = getattr(answer, "status_code", None)
        if status in (401, 403):
            return f"the email and token were refused ({status})"
        if status is not None:
            return f"it answered {status}"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"it answered {exc.response.status_code}"
    if isinstance(exc, requests.ConnectionError):
        return "no answer at that address"
    return str(exc) or type(exc).__name__
