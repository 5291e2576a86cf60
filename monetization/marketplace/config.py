"""The marketplace's configuration values, given by the composition root (never read here)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
# Types a course material may have, each with the signature its bytes must start with
# (None: checked otherwise, see materials.sniff).
DEFAULT_MATERIAL_TYPES = (
    "application/pdf",
    "application/epub+zip",
    "application/zip",
    "audio/mpeg",
    "image/jpeg",
    "image/png",
    "text/markdown",
    "text/plain",
    "video/mp4",
    "video/webm",
)


@dataclass(frozen=True, slots=True)
class MarketplaceConfig:
    """``refund_window_days``: a buyer may refund this long after the sale; then the
    instructor's share is released from pending to available."""

    refund_window_days: int = 30
    material_max_bytes: int = 256 * MIB
    material_types: tuple[str, ...] = DEFAULT_MATERIAL_TYPES
    materials_per_course_max: int = 200
    release_batch_size: int = 500
    # A purchase or refund left half-done (a crash) is finished by the maintenance round
    # once it is this old.
    stale_after_s: float = 120.0
    # How long a second request with the same Idempotency-Key waits for the first.
    in_progress_wait_s: float = 5.0

    def __post_init__(self) -> None:
        assert 0 <= self.refund_window_days <= 365, self.refund_window_days
        assert 1 <= self.material_max_bytes <= 64 * 1024 * MIB, self.material_max_bytes
        assert self.material_types, "at least one material type"
        assert 1 <= self.materials_per_course_max <= 10_000
        assert 1 <= self.release_batch_size <= 1000, self.release_batch_size
        assert self.stale_after_s > 0 and self.in_progress_wait_s >= 0
