"""The demo store: a store, its history and the five seed stories, all generated from a seed.

The fixed data (catalogue, names, staff, SLA, stories, asks, knowledge) is in `data/*.yaml`,
read and validated by `tables`; the builder's modules turn it into a store through the
services' commands. Only the CLI and the tests load the demo; no layer of the desk imports it.
"""

from caredesk.demo.history import HISTORY_DAYS
from caredesk.demo.load import DEFAULT_CUSTOMERS, DEMO_TOKEN_NAME, DemoSummary, load_demo
from caredesk.demo.stories import STORY_OWNERS, STORY_TAG
from caredesk.demo.tables import (
    DemoDataInvalid,
    knowledge_data,
    service_level_data,
    story_data,
)

__all__ = [
    "DEFAULT_CUSTOMERS",
    "DEMO_TOKEN_NAME",
    "HISTORY_DAYS",
    "STORY_OWNERS",
    "STORY_TAG",
    "DemoDataInvalid",
    "DemoSummary",
    "knowledge_data",
    "load_demo",
    "service_level_data",
    "story_data",
]
