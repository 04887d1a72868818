"""Response bodies of the reports: the catalogue of measures and one measure's figures."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import BaseModel, Field

from caredesk.services.reports.filters import FILTER_NAMES
from caredesk.services.reports.measures import Measure
from caredesk.services.reports.reports import Report


class MeasureOut(BaseModel):
    name: str = Field(description="The measure's stable id, the {measure} of its URL.")
    title: str
    unit: str
    definition: str = Field(description="Exactly as docs/reporting.md defines it.")
    group_by: list[str] = Field(description="The groupings the measure allows.")

    @classmethod
    def of(cls, measure: Measure) -> Self:
        return cls(
            name=measure.name,
            title=measure.title,
            unit=measure.unit,
            definition=measure.definition,
            group_by=list(measure.group_by),
        )


class CatalogueOut(BaseModel):
    measures: list[MeasureOut]
    filters: list[str] = Field(description="The query parameters every report takes.")

    @classmethod
    def of(cls, measures: tuple[Measure, ...]) -> Self:
        return cls(measures=[MeasureOut.of(m) for m in measures], filters=list(FILTER_NAMES))


class FigureOut(BaseModel):
    group: str | None = Field(description="The group's value; null when not grouped.")
    values: dict[str, int | float | Decimal | None] = Field(
        description="The figures, named as docs/reporting.md lists them; money as a string."
    )
    cases_url: str = Field(description="The console queue of the cases behind the figure.")


class ReportOut(BaseModel):
    measure: MeasureOut
    filters: dict[str, str] = Field(description="The filters applied, the period included.")
    group_by: str | None
    cases: int = Field(description="The cases the filters select.")
    figures: list[FigureOut] | None = Field(description="Null when no case was selected.")

    @classmethod
    def of(cls, report: Report) -> Self:
        figures = report.figures
        return cls(
            measure=MeasureOut.of(report.measure),
            filters=dict(report.filters.query()),
            group_by=report.group_by,
            cases=report.cases,
            figures=None
            if figures is None
            else [
                FigureOut(group=f.group, values=f.values, cases_url=f.cases_url) for f in figures
            ],
        )
