"""Shared pytest setup: the example scaling of the sanitizer job, and fixtures used by
more than one test file.

``HYPOTHESIS_PROFILE=ci`` (the sanitizer job, ``ci/debug.sh``) scales every property test
down to a tenth of its examples (at least 20): under AddressSanitizer at -O0 the same tests
run many times slower, and the full counts run in the normal job anyway.
"""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import settings

_SCALED = os.environ.get("HYPOTHESIS_PROFILE", "") == "ci"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Divide explicit ``@settings(max_examples=...)`` by ten in the sanitizer job."""
    if not _SCALED:
        return
    for item in items:
        fn = getattr(item, "obj", None)
        # hypothesis keeps a test's explicit settings here (stable since hypothesis 3.x)
        current = getattr(fn, "_hypothesis_internal_use_settings", None)
        if isinstance(current, settings) and current.max_examples > 20:
            fn._hypothesis_internal_use_settings = settings(  # type: ignore[union-attr]
                current, max_examples=max(current.max_examples // 10, 20))


@pytest.fixture
def name():
    """A fresh shared-memory segment name, unlinked after the test (tests/test_shm*.py)."""
    n = f"fftest-{uuid.uuid4().hex[:12]}"
    yield n
    try:
        os.unlink(f"/dev/shm/{n}")
    except FileNotFoundError:
        pass
