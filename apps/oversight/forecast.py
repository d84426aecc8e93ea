"""The false alerts forecast on a watchlist's approval page: for this list's size at the threshold in force, from the
evaluation of the engine in force, and for a deployment's expected passers-by."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.template.loader import render_to_string

from apps.matching import evaluation as engine_figures
from apps.matching.models import EngineEvaluation
from apps.matching.services import engine_approval, engine_evaluation
from govern import policy

from .choices import ChangeKind, ChangeState
from .models import GovernedChange
from .services import current_threshold


@dataclass(frozen=True)
class Forecast:
    """What the evaluation forecasts for one list at one threshold (no evaluation: report is None)."""

    engine: str
    weights_sha256: str
    threshold: Decimal
    list_size: int
    footfall: int
    ceiling: Decimal
    report: EngineEvaluation | None = None
    figures: dict | None = None  # engine_figures.forecast's: read_at, per_1000, low, high

    @property
    def safe(self) -> bool:
        """Whether the upper end of the forecast is within the ceiling."""
        return self.figures is not None and self.figures["high"] <= self.ceiling

    @property
    def at_footfall(self) -> dict | None:
        """Expected false alerts over the expected footfall: the estimate and its interval."""
        if self.figures is None or self.figures["per_1000"] is None:
            return None
        scale = self.footfall / 1000
        return {key: self.figures[key] * scale for key in ("per_1000", "low", "high")}


def _report_for(name: str, weights: str) -> EngineEvaluation | None:
    """The evaluation the threshold in force cites, if it is of the engine in force; else the engine's latest."""
    change = GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD, state=ChangeState.IN_FORCE).first()
    cited = change.evaluation if change and change.evaluation_id else None
    if cited and (cited.engine_name, cited.engine_weights_sha256) == (name, weights):
        return cited
    return engine_evaluation.reports_for_engine(name, weights).first()


def forecast(list_size: int) -> Forecast:
    """The forecast for a list of `list_size` at the threshold in force, with the engine in force."""
    name, weights, _ = engine_approval.engine_identity()
    threshold, _change = current_threshold()
    report = _report_for(name, weights)
    return Forecast(
        engine=name,
        weights_sha256=weights,
        threshold=threshold,
        list_size=list_size,
        footfall=settings.EVALUATION_FOOTFALL,
        ceiling=settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000,
        report=report,
        figures=engine_figures.forecast(report.figures, threshold, list_size) if report else None,
    )


def _governing_report(name: str, weights: str) -> EngineEvaluation | None:
    """The computed evaluation the threshold in force was shown safe by, if it is of the engine in force; None when
    the threshold is the configured default or rests on another engine's figures (the demo's dlib threshold: its five
    photographs show no threshold safe, so none was governed on them)."""
    change = GovernedChange.objects.filter(kind=ChangeKind.THRESHOLD, state=ChangeState.IN_FORCE).first()
    cited = change.evaluation if change and change.evaluation_id else None
    if cited and cited.figures and (cited.engine_name, cited.engine_weights_sha256) == (name, weights):
        return cited
    return None


def list_size_refusal(watchlist, list_size: int) -> str | None:
    """The threshold gate again for one list, when it is approved and when its deployment is authorised: the
    threshold in force was shown safe for the lists approved then, and a larger list meets more false alerts at it.
    Waived, as the threshold's own gate waives it, for an uncalibrated engine where FACE_ALLOW_UNCALIBRATED is set."""
    name, weights, calibrated = engine_approval.engine_identity()
    if not calibrated and settings.FACE_ALLOW_UNCALIBRATED:
        return None
    threshold, change = current_threshold()
    report = _governing_report(name, weights)
    if report is None and change is not None:
        # Governed on another engine's figures (the engine changed since): the engine in force's own evaluation,
        # as the approval page's forecast reads it; none at all refuses rather than waving every list through.
        report = _report_for(name, weights)
        if report is None or not report.figures:
            return (
                f"{watchlist.reference}: the threshold in force {threshold} was shown safe on another engine's "
                f"figures, and no computed evaluation of the engine in force ({name}) shows it safe for a list of "
                f"{list_size:,}. Evaluate the engine in force (manage.py evaluate_engine) first."
            )
    if report is None:
        return None
    figures = engine_figures.forecast(report.figures, threshold, list_size)
    ceiling = settings.EVALUATION_MAX_FALSE_ALERTS_PER_1000
    if figures is not None and figures["high"] <= ceiling:
        return None
    said = (
        f"evaluation {report.pk} does not reach down to {threshold}"
        if figures is None
        else f"evaluation {report.pk} forecasts up to {figures['high']:.3g} false alerts per 1,000 passers-by "
        f"(at most {ceiling} allowed)"
    )
    return (
        f"{watchlist.reference}, a list of {list_size:,}: at the threshold in force {threshold}, {said}. "
        "Propose a threshold shown safe for a list this size, or shorten the list."
    )


def forecast_panel(request, watchlist, review) -> str:
    """The approval page's panel: the forecast for the version under review."""
    if not policy.may(request.user, "matching.view_engineevaluation"):
        return ""
    found = forecast(len(review.snapshot.get("entries", [])))
    return render_to_string("oversight/_forecast.html", {"forecast": found}, request=request)
