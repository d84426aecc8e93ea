"""`manage.py evaluate_engine FOLDER --as USER [--labels FILE.csv] [--thresholds 0.5 0.6 ...]`: the engine in force
evaluated on a labelled face set (one folder per person, LFW's layout), the report stored and logged, its table
printed."""

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.matching.services import engine_evaluation

SHOWN_SIZES = ("1000", "10000")


def _percent(cell: dict | None) -> str:
    if not cell or not cell["n"]:
        return "-"
    return f"{100 * cell['rate']:.1f} ({100 * cell['low']:.1f}-{100 * cell['high']:.1f})"


def _per_1000(cell: dict | None) -> str:
    if not cell or cell["per_1000"] is None:
        return "-"
    return f"{cell['per_1000']:.3g} ({cell['low']:.3g}-{cell['high']:.3g})"


class Command(BaseCommand):
    """Evaluate the engine in force on a face set, as a named authorising or privacy officer."""

    help = "Evaluate the engine in force on a labelled face set (one folder per person) and store the report."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="One sub-folder per person, each holding that person's images")
        parser.add_argument("--as", dest="username", required=True, help="Who runs it (recorded)")
        parser.add_argument("--labels", help="CSV: identity,sex,age_band,ethnic_group (the folders' names)")
        parser.add_argument("--thresholds", nargs="+", help="Thresholds to report (default 0.30 to 1.00 by 0.01)")

    def handle(self, *args, folder, username, labels=None, thresholds=None, **options):
        actor = User.objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"No user {username!r}.")
        try:
            chosen = engine_evaluation.thresholds_from(thresholds)
            images = engine_evaluation.read_folder(Path(folder))
            label_bytes = Path(labels).read_bytes() if labels else None
            report = engine_evaluation.evaluate(
                actor, Path(folder).resolve().name, images, labels=label_bytes, thresholds=chosen
            )
        except (ValidationError, PermissionDenied, OSError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from exc
        self._print(report)

    def _print(self, report) -> None:
        figures = report.figures
        out = self.stdout
        out.write(f"{report.label}")
        out.write(
            f"Engine {report.engine_name}, weights {report.engine_weights_sha256}; set sha256 {report.set_sha256}"
        )
        out.write(
            f"{figures['images']} faces of {figures['identities']} people: {figures['gallery']} enrolled, "
            f"{figures['mated_probes']} mated probes, {figures['non_mated_probes']} non-mated probes; "
            f"intervals: {figures['interval']}."
        )
        for problem in report.problems:
            out.write(f"  left out: {problem['image']}: {problem['problem']}")
        whole = str(figures["gallery"])
        out.write("")
        header = f"{'threshold':>9}  {'TPIR % (95 % CI)':<22}  {'FPIR % at ' + whole + ' (95 % CI)':<24}  " + "  ".join(
            f"{'false alerts/1000 at ' + size:<28}" for size in SHOWN_SIZES
        )
        out.write(header)
        for row in figures["thresholds"]:
            out.write(
                f"{row['threshold']:>9}  {_percent(row['tpir']):<22}  {_percent(row['fpir'].get(whole)):<24}  "
                + "  ".join(f"{_per_1000(row['forecast'].get(size)):<28}" for size in SHOWN_SIZES)
            )
        out.write("")
        if figures["separates"]:
            out.write("The engine finds enrolled people more often than it alerts on others at some threshold.")
        else:
            out.write(
                "The engine SEPARATES NOTHING on this set: at no threshold does it find enrolled people more often "
                "than it alerts on people not enrolled (the intervals overlap)."
            )
        scores = figures["scores"]
        if scores["mated_best"] and scores["non_mated"]:
            out.write(
                f"Scores: mated best {scores['mated_best']['min']:.4f}-{scores['mated_best']['max']:.4f}, "
                f"non-mated {scores['non_mated']['min']:.4f}-{scores['non_mated']['max']:.4f}."
            )
        out.write(f"Stored as evaluation {report.pk}; cite it in a threshold or engine proposal.")
