"""How much a message may carry: the size of each file, the size of all, and how many."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caredesk.domain.errors import DomainError, ErrorCode

MIB = 1_048_576
DEFAULT_MAX_FILE_BYTES = 25 * MIB
DEFAULT_MAX_MESSAGE_BYTES = 50 * MIB
DEFAULT_MAX_FILES = 20


def readable_size(size: int) -> str:
    """A size as people read it (1 MB = 1,048,576 bytes), never rounded up, so a limit
    shown as "up to 2.5 MB" never promises more than it allows."""
    if size < 1024:
        return f"{size} bytes"
    if size < MIB:
        return f"{size // 1024} KB"
    tenths = size * 10 // MIB
    whole, tenth = divmod(tenths, 10)
    return f"{whole} MB" if tenth == 0 else f"{whole}.{tenth} MB"


@dataclass(frozen=True, slots=True)
class AttachmentLimits:
    file_bytes: int = DEFAULT_MAX_FILE_BYTES
    message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    files: int = DEFAULT_MAX_FILES

    def describe(self) -> str:
        """The limits in one phrase, for the forms that take files."""
        per_file = readable_size(min(self.file_bytes, self.message_bytes))
        if self.files == 1:
            return f"one file of up to {per_file}"
        return (
            f"up to {self.files} files, {per_file} each and {readable_size(self.message_bytes)} "
            "in all"
        )

    def check(self, files: Sequence[tuple[str, int]]) -> None:
        """Refuse a message whose files (name, size) pass a limit; the first one passed is
        named, with every limit, so the sender knows what would fit."""
        context = {
            "limit_file_bytes": self.file_bytes,
            "limit_message_bytes": self.message_bytes,
            "limit_files": self.files,
        }
        if len(files) > self.files:
            raise DomainError(
                f"{len(files)} files are attached; a message may carry {self.files} at most",
                code=ErrorCode.TOO_MANY_ATTACHMENTS,
                details={"files": len(files), **context},
            )
        for filename, size in files:
            if size > self.file_bytes:
                raise DomainError(
                    f"{filename} is {readable_size(size)}; each file may be "
                    f"{readable_size(self.file_bytes)} at most",
                    code=ErrorCode.FILE_TOO_LARGE,
                    details={"filename": filename, "size": size, **context},
                )
        total = sum(size for _, size in files)
        if total > self.message_bytes:
            raise DomainError(
                f"the files come to {readable_size(total)}; a message may carry "
                f"{readable_size(self.message_bytes)} of files at most",
                code=ErrorCode.ATTACHMENTS_TOO_LARGE,
                details={"size": total, **context},
            )

    def too_large_body(self) -> DomainError:
        """The refusal of a request whose body outgrew the files it may carry and its form;
        its files were not all read, so they cannot be named."""
        return DomainError(
            f"the files are larger than a message may carry: {self.describe()}",
            code=ErrorCode.ATTACHMENTS_TOO_LARGE,
            details={
                "limit_file_bytes": self.file_bytes,
                "limit_message_bytes": self.message_bytes,
                "limit_files": self.files,
            },
        )
