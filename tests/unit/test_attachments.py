"""The limits on a message's files: each file, all of them together, and how many."""

from __future__ import annotations

import pytest

from caredesk.domain.attachments import MIB, AttachmentLimits, readable_size
from caredesk.domain.errors import DomainError, ErrorCode

LIMITS = AttachmentLimits(file_bytes=2 * MIB, message_bytes=3 * MIB, files=3)


def refusal(files: list[tuple[str, int]]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        LIMITS.check(files)
    return caught.value


def test_files_within_every_limit_pass() -> None:
    LIMITS.check([])
    LIMITS.check([("a.jpg", 2 * MIB), ("b.jpg", MIB)])


def test_a_file_over_its_own_limit_is_named() -> None:
    refused = refusal([("small.jpg", 10), ("video.mp4", 2 * MIB + 1)])
    assert refused.code is ErrorCode.FILE_TOO_LARGE
    assert refused.details["filename"] == "video.mp4"
    assert refused.message == "video.mp4 is 2 MB; each file may be 2 MB at most"


def test_files_that_each_fit_but_not_together_are_refused() -> None:
    refused = refusal([("a.jpg", 2 * MIB), ("b.jpg", MIB + 1)])
    assert refused.code is ErrorCode.ATTACHMENTS_TOO_LARGE
    assert refused.details["size"] == 3 * MIB + 1
    assert refused.details["limit_message_bytes"] == 3 * MIB


def test_more_files_than_allowed_are_refused() -> None:
    refused = refusal([("f.txt", 1)] * 4)
    assert refused.code is ErrorCode.TOO_MANY_ATTACHMENTS
    assert refused.details["limit_files"] == 3


def test_sizes_are_shown_never_rounded_up() -> None:
    assert readable_size(900) == "900 bytes"
    assert readable_size(64 * 1024) == "64 KB"
    assert readable_size(25 * MIB) == "25 MB"
    assert readable_size(MIB * 5 // 2) == "2.5 MB"
    assert readable_size(2 * MIB - 1) == "1.9 MB"


def test_the_phrase_in_forms_states_the_limits() -> None:
    assert LIMITS.describe() == "up to 3 files, 2 MB each and 3 MB in all"
    # A file can never be larger than the whole message allows.
    assert AttachmentLimits(file_bytes=5 * MIB, message_bytes=MIB, files=1).describe() == (
        "one file of up to 1 MB"
    )
