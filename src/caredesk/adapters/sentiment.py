"""Sentiment from VADER, a lexicon and rules tuned for short, informal English."""

from __future__ import annotations

from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    """VADER's lexicons, read once per process: reading them takes tens of milliseconds, and
    scoring only reads them, so every desk built in a process shares one analyzer."""
    return SentimentIntensityAnalyzer()


class VaderSentiment:
    def __init__(self) -> None:
        self._analyzer = _analyzer()

    def polarity(self, text: str) -> float:
        if not text.strip():
            return 0.0
        # VADER reads sentence by sentence; very long texts add little but cost a lot.
        return float(self._analyzer.polarity_scores(text[:5000])["compound"])
