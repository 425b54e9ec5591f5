"""The Great Expectations context every suite runs in, whichever engine holds the data."""

from __future__ import annotations

import great_expectations as gx
from great_expectations.data_context.data_context.ephemeral_data_context import EphemeralDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)


def ephemeral_context() -> EphemeralDataContext:
    """An ephemeral GX context, without progress bars, that sends no usage statistics (patient-data pipeline), set
    in its own configuration rather than the process environment."""
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults()
        ),
    )
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context
